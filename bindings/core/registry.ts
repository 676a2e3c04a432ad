/**
 * The subsystem registry of one machine. Each subsystem (dma, dma-buf, the
 * process table, the /proc files) registers what it contributes when
 * createSystem() wires it in: the virtual files it serves, its part of check(),
 * its part of stateHash(). The machine itself knows none of them by name.
 */
import { DmaSimError } from "./errors.ts";
import { StateHasher } from "./hash.ts";

/** What one subsystem contributes to the machine it is part of. */
export interface Subsystem {
  /** Unique per machine; check() messages and hash sections are keyed by it. */
  readonly name: string;
  /** The text of a virtual file it serves, or undefined when `path` is none of its files. */
  readFile?(path: string): string | undefined;
  /** Writes a virtual file it serves: true when written, undefined when `path` is none of its writable files. */
  writeFile?(path: string, text: string): true | undefined;
  /** Its invariants: "" when they hold, else the first broken one. */
  check?(): string;
  /** Feeds its state in a canonical order; feeds nothing while it holds none. */
  hash?(h: StateHasher): void;
}

export class Registry {
  private readonly subsystems: Subsystem[] = [];

  /** Adds a subsystem; its place in the list is its place in check() and the hash. */
  add(subsystem: Subsystem): void {
    if (this.subsystems.some((s) => s.name === subsystem.name)) {
      throw new DmaSimError("EEXIST", `registry: a subsystem named "${subsystem.name}" is already registered`);
    }
    this.subsystems.push(subsystem);
  }

  /** The first subsystem's text for `path`, or undefined. */
  readFile(path: string): string | undefined {
    for (const s of this.subsystems) {
      const text = s.readFile?.(path);
      if (text !== undefined) return text;
    }
    return undefined;
  }

  /** Writes `text` to the first subsystem that serves `path` writably; undefined when none does. */
  writeFile(path: string, text: string): true | undefined {
    for (const s of this.subsystems) {
      if (s.writeFile?.(path, text)) return true;
    }
    return undefined;
  }

  /** "" when every subsystem's invariants hold, else the first broken one. */
  check(): string {
    for (const s of this.subsystems) {
      const msg = s.check?.() ?? "";
      if (msg.length > 0) return msg;
    }
    return "";
  }

  /**
   * The machine's digest: the engine's, then each subsystem's state under its
   * name. While no subsystem holds state it is the engine's digest itself, so a
   * machine of pages and CMA only hashes as the engine does.
   */
  hash(engineHash: number): number {
    const h = new StateHasher().word(engineHash | 0);
    let fed = 0;
    for (const s of this.subsystems) {
      if (!s.hash) continue;
      const part = new StateHasher();
      s.hash(part);
      if (part.words === 0) continue;
      h.str(s.name)
        .word(part.words)
        .word(part.digest() | 0);
      fed++;
    }
    return fed === 0 ? engineHash >>> 0 : h.digest();
  }
}
