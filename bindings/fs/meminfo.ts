/**
 * /proc/meminfo (fs/proc/meminfo.c of Linux 6.12): show_val_kb() prints the
 * label padded to 16 columns by the string literal itself, the value in kB
 * right-aligned in 8 columns (seq_put_decimal_ull_width()), then " kB".
 *
 * The configuration printed: x86_64 with CONFIG_SWAP, CONFIG_CMA, without
 * CONFIG_HIGHMEM, CONFIG_ZSWAP, CONFIG_MEMORY_FAILURE,
 * CONFIG_TRANSPARENT_HUGEPAGE, CONFIG_HUGETLB_PAGE and CONFIG_UNACCEPTED_MEMORY
 * (their lines are absent). What dmasim does not model prints 0 as such a
 * machine would: no block-device buffers, no shmem, no slab, no kernel
 * stacks, page tables or vmalloc use, no mlock. VmallocTotal is x86_64's
 * 4-level VMALLOC_TOTAL (32 TiB - 1 KiB, in kB). SwapTotal/SwapFree are
 * si_swapinfo()'s (0 without `swapBytes`); SwapCached is 0 (a swapped-in page
 * skips the swap cache on the SWP_SYNCHRONOUS_IO device, assembly/swap.ts).
 * CommitLimit is vm_commit_limit() with the default overcommit_ratio 50, plus
 * total_swap_pages; Committed_AS counts the anonymous pages, resident or
 * swapped out (dmasim's anonymous memory is all touched). MemAvailable does not
 * count swap (si_mem_available()).
 */
import { WMARK_HIGH, WMARK_LOW } from "../core/abi.ts";
import type { Mm } from "../mm/mm.ts";

/** The numbers /proc/meminfo is computed from, in pages. */
export interface MeminfoInput {
  pageSize: number;
  /** totalram_pages(): managed pages. */
  totalPages: number;
  /** NR_FREE_PAGES */
  freePages: number;
  /** totalreserve_pages (calculate_totalreserve_pages()). */
  totalReservePages: number;
  /** Sum of low_wmark_pages() (boost included) over the zones. */
  lowWmarkPages: number;
  /** NR_FILE_PAGES */
  filePages: number;
  inactiveAnon: number;
  activeAnon: number;
  inactiveFile: number;
  activeFile: number;
  dirty: number;
  writeback: number;
  /** totalcma_pages */
  cmaTotal: number;
  /** NR_FREE_CMA_PAGES */
  cmaFree: number;
  /** total_swap_pages (si->pages) */
  swapTotal: number;
  /** nr_swap_pages: free slots */
  swapFree: number;
  /** Anonymous pages swapped out (slots in use): still committed. */
  swappedOut: number;
}

/**
 * si_mem_available(): free pages above totalreserve_pages, plus the file LRU
 * pages less min(half of them, the low watermarks), plus reclaimable slab and
 * kernel memory likewise (none here); never below 0.
 */
export function siMemAvailable(m: MeminfoInput): number {
  let available = m.freePages - m.totalReservePages;
  let pagecache = m.activeFile + m.inactiveFile;
  pagecache -= Math.min(Math.floor(pagecache / 2), m.lowWmarkPages);
  available += pagecache;
  return Math.max(available, 0);
}

/** x86_64 4-level paging: VMALLOC_SIZE_TB 32, printed >> 10. */
const VMALLOC_TOTAL_KB = 32 * 2 ** 30 - 1;

/** Formats /proc/meminfo. */
export function formatMeminfo(m: MeminfoInput): string {
  const kb = (pages: number): number => (pages * m.pageSize) / 1024;
  const line = (label: string, valueKb: number): string => `${label.padEnd(16)}${String(valueKb).padStart(8)} kB\n`;
  const cached = Math.max(m.filePages, 0); // - total_swapcache_pages() - bufferram: both 0
  const anon = m.inactiveAnon + m.activeAnon;
  const rows: [string, number][] = [
    ["MemTotal:", kb(m.totalPages)],
    ["MemFree:", kb(m.freePages)],
    ["MemAvailable:", kb(siMemAvailable(m))],
    ["Buffers:", 0],
    ["Cached:", kb(cached)],
    ["SwapCached:", 0],
    ["Active:", kb(m.activeAnon + m.activeFile)],
    ["Inactive:", kb(m.inactiveAnon + m.inactiveFile)],
    ["Active(anon):", kb(m.activeAnon)],
    ["Inactive(anon):", kb(m.inactiveAnon)],
    ["Active(file):", kb(m.activeFile)],
    ["Inactive(file):", kb(m.inactiveFile)],
    ["Unevictable:", 0],
    ["Mlocked:", 0],
    ["SwapTotal:", kb(m.swapTotal)],
    ["SwapFree:", kb(m.swapFree)],
    ["Dirty:", kb(m.dirty)],
    ["Writeback:", kb(m.writeback)],
    ["AnonPages:", kb(anon)],
    ["Mapped:", 0],
    ["Shmem:", 0],
    ["KReclaimable:", 0],
    ["Slab:", 0],
    ["SReclaimable:", 0],
    ["SUnreclaim:", 0],
    ["KernelStack:", 0],
    ["PageTables:", 0],
    ["SecPageTables:", 0],
    ["NFS_Unstable:", 0],
    ["Bounce:", 0],
    ["WritebackTmp:", 0],
    // vm_commit_limit(): totalram * overcommit_ratio / 100 + total_swap_pages.
    ["CommitLimit:", kb(Math.floor((m.totalPages * 50) / 100) + m.swapTotal)],
    ["Committed_AS:", kb(anon + m.swappedOut)],
    ["VmallocTotal:", VMALLOC_TOTAL_KB],
    ["VmallocUsed:", 0],
    ["VmallocChunk:", 0],
    ["Percpu:", 0],
    ["CmaTotal:", kb(m.cmaTotal)],
    ["CmaFree:", kb(m.cmaFree)],
  ];
  return rows.map(([label, v]) => line(label, v)).join("");
}

/** The machine's meminfo numbers. */
export function meminfo(sys: Mm): MeminfoInput {
  const e = sys.engine;
  const l = sys.pageCache.lruStats();
  let totalPages = 0;
  let totalReservePages = 0;
  let lowWmarkPages = 0;
  for (let z = 0; z < 5; z++) {
    const managed = e.zoneEndPfn(z) - e.zoneStartPfn(z);
    if (managed <= 0) continue;
    totalPages += managed;
    // calculate_totalreserve_pages(): the largest lowmem_reserve[] plus the high
    // watermark (without boost), at most the zone's managed pages.
    let maxReserve = 0;
    for (let j = 0; j < 5; j++) maxReserve = Math.max(maxReserve, e.zoneProtection(z, j));
    totalReservePages += Math.min(managed, maxReserve + e.zoneWmarkPages(z, WMARK_HIGH));
    lowWmarkPages += e.zoneWmarkPages(z, WMARK_LOW) + e.zoneBoostPages(z);
  }
  const s = sys.stats();
  return {
    pageSize: sys.pageSize,
    totalPages,
    freePages: s.nrFreePages,
    totalReservePages,
    lowWmarkPages,
    filePages: l.filePages,
    inactiveAnon: l.inactiveAnon,
    activeAnon: l.activeAnon,
    inactiveFile: l.inactiveFile,
    activeFile: l.activeFile,
    dirty: l.dirty,
    writeback: l.writeback,
    cmaTotal: sys.cmaAreas.reduce((n, a) => n + a.count, 0),
    cmaFree: s.nrFreeCmaPages,
    swapTotal: sys.swap.totalPages,
    swapFree: sys.swap.freePages,
    swappedOut: sys.swap.usedPages,
  };
}
