// Set-up shared by the buddy cases.
import type { Migratetype, System } from "dmasim";

/**
 * Pre-populates `target` pages (default half) of `sys`: a seeded mix of orders
 * (default 0-3) and migratetypes up to 125% of it, then random blocks freed back
 * down to it, so the free space is holed. Returns the blocks still held
 * (pfn, order, pfn, order, ...) and the pages they hold.
 */
export function halfFull(
  sys: System,
  drawOrder = (): number => sys.random.int(4),
  target = sys.nrPages / 2,
): { blocks: number[]; used: number } {
  const rnd = sys.random;
  const MTS: readonly Migratetype[] = ["unmovable", "movable", "reclaimable"];
  const blocks: number[] = [];
  let used = 0;
  for (let refused = 0; used < target * 1.25 && refused < 1000;) {
    const order = drawOrder();
    const pfn = sys.allocPages(order, MTS[rnd.int(3)]!);
    if (pfn === null) {
      refused++; // a large order may not fit: draw again
      continue;
    }
    blocks.push(pfn, order);
    used += 1 << order;
  }
  while (used > target) {
    const i = rnd.int(blocks.length / 2) * 2;
    const [pfn, order] = [blocks[i]!, blocks[i + 1]!];
    sys.freePages(pfn, order);
    blocks[i] = blocks[blocks.length - 2]!;
    blocks[i + 1] = blocks[blocks.length - 1]!;
    blocks.length -= 2;
    used -= 1 << order;
  }
  return { blocks, used };
}
