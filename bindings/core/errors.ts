/**
 * DmaSimError: the error every public function throws on bad input, shaped like
 * Node's system errors (`code: "EINVAL"`, `errno: -22`).
 */
import { ERRNO as ABI_ERRNO } from "./abi.generated.ts";

/**
 * errno values of include/uapi/asm-generic/errno-base.h and errno.h used by
 * dmasim: the engine's own (assembly/abi.ts, generated into abi.generated.ts).
 */
export const ERRNO = ABI_ERRNO;

export type ErrnoCode = keyof typeof ERRNO;

const CODE_OF_ERRNO = new Map<number, ErrnoCode>(
  (Object.entries(ERRNO) as [ErrnoCode, number][]).map(([code, n]) => [n, code]),
);

export class DmaSimError extends Error {
  /** Symbolic code, e.g. "EINVAL". */
  readonly code: ErrnoCode;
  /** Negative errno, as Node reports it, e.g. -22. */
  readonly errno: number;
  /** The message without its "CODE: " prefix, for wrapping in a wider context. */
  readonly detail: string;

  constructor(code: ErrnoCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "DmaSimError";
    this.code = code;
    this.errno = -ERRNO[code];
    this.detail = message;
  }

  /** Builds the error for a negative errno returned by the engine. */
  static fromErrno(ret: number, message: string): DmaSimError {
    return new DmaSimError(CODE_OF_ERRNO.get(-ret) ?? "EINVAL", message);
  }
}

/** The symbolic name of a negative errno (-16 → "EBUSY"). */
export function errnoName(ret: number): string {
  return CODE_OF_ERRNO.get(-ret) ?? String(ret);
}

/**
 * The engine ran out of memory (a WASM trap in a grow, or a JS allocation
 * failure on the portable build): ENOMEM. Engine entry points that grow memory
 * do so before they change anything, so the machine is as it was.
 */
export function engineOutOfMemory(where: string, err: unknown): unknown {
  const trap = typeof WebAssembly !== "undefined" && err instanceof WebAssembly.RuntimeError;
  if (!trap && !(err instanceof RangeError)) return err;
  return new DmaSimError("ENOMEM", `${where}: the engine ran out of memory (${(err as Error).message})`);
}
