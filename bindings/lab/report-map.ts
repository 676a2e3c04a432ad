/**
 * The physical memory map as an SVG picture: one cell per pageblock in pfn
 * order, left to right and top to bottom, coloured by the pageblock's
 * migratetype and shaded by occupancy (1 - free / pageblockNrPages): a pale
 * cell is mostly free, a saturated one full. Hand-written SVG, so it needs no
 * renderer and stays small.
 */
import type { MemoryMapSnapshot } from "./result.ts";
import { MIGRATETYPES } from "../index.ts";

/** Colours per migratetype (index = MIGRATETYPES), shared with the charts. */
export const MIGRATETYPE_COLORS: readonly string[] = [
  "#d62728", // unmovable: red, the blocks compaction cannot empty
  "#2ca02c", // movable: green
  "#ff7f0e", // reclaimable: orange
  "#9467bd", // highatomic: purple
  "#1f77b4", // cma: blue
  "#7f7f7f", // isolate: grey
];

export interface MapPictureOptions {
  /** Page size in bytes, for the address labels. Default 4096. */
  pageSize?: number;
  /** Title above the map. Default: the snapshot's label and position. */
  title?: string;
  /** Cell side in pixels. Default 14. */
  cellPx?: number;
  /**
   * Most cells drawn; beyond it, each cell stands for a power-of-two group of
   * pageblocks (the group's most common migratetype, its mean occupancy).
   * Default 4096.
   */
  maxCells?: number;
}

const GAP_PX = 1;
const LABEL_PX = 64;
const TITLE_PX = 22;
const LEGEND_PX = 56;
/** Room the legend needs to the right of the labels. */
const LEGEND_W_PX = 470;
/** Occupancy 0 still shows a hint of the type's colour. */
const MIN_TINT = 0.12;

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** `color` mixed with white: tint 0 is white, 1 the full colour. */
export function tintColor(color: string, tint: number): string {
  const t = MIN_TINT + (1 - MIN_TINT) * Math.min(1, Math.max(0, tint));
  const channel = (i: number): string => {
    const c = parseInt(color.slice(1 + 2 * i, 3 + 2 * i), 16);
    return Math.round(255 - (255 - c) * t)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20) return `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

interface Cell {
  migratetype: number;
  /** 0..1 */
  occupancy: number;
}

/** Groups pageblocks `group` at a time: the most common type (lowest index on ties), the mean occupancy. */
function cellsOf(map: MemoryMapSnapshot, group: number): Cell[] {
  const cells: Cell[] = [];
  const n = map.migratetypes.length;
  for (let i = 0; i < n; i += group) {
    const counts = new Array<number>(MIGRATETYPES.length).fill(0);
    let free = 0;
    const end = Math.min(n, i + group);
    for (let j = i; j < end; j++) {
      counts[map.migratetypes[j]!]!++;
      free += map.freePages[j]!;
    }
    const migratetype = counts.indexOf(Math.max(...counts));
    cells.push({ migratetype, occupancy: 1 - free / ((end - i) * map.pageblockNrPages) });
  }
  return cells;
}

/** Columns: a power of two near sqrt(2n), so the map is about twice as wide as tall. */
function columnsFor(cells: number): number {
  const cols = 2 ** Math.round(Math.log2(Math.sqrt(cells * 2)));
  return Math.min(64, Math.max(8, cols));
}

/** Renders one snapshot as a standalone SVG document, legend included. */
export function memoryMapSvg(map: MemoryMapSnapshot, options: MapPictureOptions = {}): string {
  const pageSize = options.pageSize ?? 4096;
  const cellPx = options.cellPx ?? 14;
  const maxCells = options.maxCells ?? 4096;
  const n = map.migratetypes.length;
  let group = 1;
  while (n / group > maxCells) group *= 2;
  const cells = cellsOf(map, group);
  const cols = columnsFor(cells.length);
  const rows = Math.ceil(cells.length / cols);
  const step = cellPx + GAP_PX;
  const gridW = cols * step;
  const width = LABEL_PX + Math.max(gridW, LEGEND_W_PX) + 8;
  const height = TITLE_PX + rows * step + LEGEND_PX;
  const blockBytes = map.pageblockNrPages * pageSize;
  const title = options.title ?? `${map.label} (operation ${map.t})`;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  const groupNote = group > 1 ? `, one cell per ${group} pageblocks` : "";
  out.push(
    `<text x="${LABEL_PX}" y="15"><tspan font-size="13" font-weight="bold">${escapeXml(title)}</tspan>` +
      `<tspan fill="#555" dx="8">— ${n} pageblocks of ${formatBytes(blockBytes)}${groupNote}</tspan></text>`,
  );
  // Row labels: the physical address where each row starts.
  const labelEvery = rows <= 24 ? 1 : Math.ceil(rows / 24);
  for (let r = 0; r < rows; r += labelEvery) {
    const y = TITLE_PX + r * step + cellPx - 3;
    out.push(
      `<text x="${LABEL_PX - 6}" y="${y}" text-anchor="end" fill="#555">${formatBytes(r * cols * group * blockBytes).replace(/^0 KiB$/, "0")}</text>`,
    );
  }
  const withTitles = cells.length <= 1024;
  out.push(`<g stroke="none">`);
  cells.forEach((cell, i) => {
    const x = LABEL_PX + (i % cols) * step;
    const y = TITLE_PX + Math.floor(i / cols) * step;
    const fill = tintColor(MIGRATETYPE_COLORS[cell.migratetype] ?? "#000000", cell.occupancy);
    const rect = `<rect x="${x}" y="${y}" width="${cellPx}" height="${cellPx}" fill="${fill}"`;
    if (withTitles) {
      const pfn = i * group * map.pageblockNrPages;
      out.push(
        `${rect}><title>pfn ${pfn}: ${MIGRATETYPES[cell.migratetype]}, ${Math.round(cell.occupancy * 100)}% in use</title></rect>`,
      );
    } else out.push(`${rect}/>`);
  });
  out.push(`</g>`);
  out.push(legendSvg(LABEL_PX, TITLE_PX + rows * step + 10, cellPx));
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** The legend: one swatch per migratetype, then the occupancy shades. */
function legendSvg(x0: number, y0: number, cellPx: number): string {
  const out: string[] = [];
  let x = x0;
  MIGRATETYPES.forEach((name, mt) => {
    out.push(`<rect x="${x}" y="${y0}" width="${cellPx}" height="${cellPx}" fill="${MIGRATETYPE_COLORS[mt]}"/>`);
    out.push(`<text x="${x + cellPx + 4}" y="${y0 + cellPx - 3}">${name}</text>`);
    x += cellPx + 10 + name.length * 6.5;
  });
  const y1 = y0 + cellPx + 6;
  out.push(`<text x="${x0}" y="${y1 + cellPx - 3}">occupancy</text>`);
  let sx = x0 + 64;
  for (const occ of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(
      `<rect x="${sx}" y="${y1}" width="${cellPx}" height="${cellPx}" fill="${tintColor(MIGRATETYPE_COLORS[1]!, occ)}"/>`,
    );
    out.push(`<text x="${sx + cellPx + 3}" y="${y1 + cellPx - 3}">${occ * 100}%</text>`);
    sx += cellPx + 40;
  }
  return out.join("\n");
}
