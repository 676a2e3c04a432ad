// The byte scanner of the replay's reader thread (bindings/lab/trace-scan.ts):
// the hot kmem event lines of a text ftrace capture (mm_page_alloc,
// mm_page_free, mm_page_free_batched, mm_page_alloc_zone_locked,
// mm_page_pcpu_drain), read straight from the file's bytes, many lines per
// engine call. It is scanKmemLine() of bindings/lab/ftrace.ts for the lines
// it is sure of, field for field; any other line (another event, the `#`
// header, a tab, non-ASCII bytes, `[LOST `, a NULL page, a timestamp of more
// than 15 digits, ...) is TRACE_LINE_OTHER, for that scanner to decide.
//
// The bytes of a chunk of the file are copied to scanIn[0, nbytes); each
// scanLines(at, nbytes) call splits lines from byte `at` on (at LF, a CR
// before it dropped; the last line may lack its LF), up to SCAN_LINES of
// them, and writes per line i:
//
//   scanKinds[i]              TRACE_* kind, or TRACE_LINE_OTHER
//   scanNumbers[4i .. 4i+3]   pfn, order, migratetype, timestamp in seconds (-1: none)
//   scanSpans[4i .. 4i+3]     the line's [from, to) in scanIn; then the gfp_flags value's
//                             [from, to) (TRACE_PAGE_ALLOC), or 1 in 4i+2 for
//                             percpu_refill=1 (TRACE_ZONE_LOCKED)
//
// scanStop() is where the next call starts (nbytes when the chunk is done).
// Numbers are f64 as the bindings' scanner computes them (pfns up to 13 hex
// digits, below 2^53: exact).

import {
  TRACE_LINE_OTHER, TRACE_PAGE_ALLOC, TRACE_PAGE_FREE, TRACE_PAGE_FREE_BATCHED, TRACE_PCPU_DRAIN, TRACE_ZONE_LOCKED,
} from "./abi.ts";
import { dataPointer } from "./target.ts";

/** Lines written per scanLines() call, at most. */
const SCAN_LINES: i32 = 8192;
/** Orders beyond this are garbage (MAX_ORDER_TEXT of the bindings). */
const MAX_ORDER_TEXT: f64 = 63;

const CH_LF: i32 = 10;
const CH_CR: i32 = 13;
const CH_SPACE: i32 = 32;
const CH_HASH: i32 = 35;
const CH_MINUS: i32 = 45;
const CH_DOT: i32 = 46;
const CH_0: i32 = 48;
const CH_9: i32 = 57;
const CH_COLON: i32 = 58;
const CH_EQUALS: i32 = 61;
const CH_BRACKET: i32 = 91;

let scanIn: Uint8Array = new Uint8Array(0);
const scanKinds: Uint8Array = new Uint8Array(SCAN_LINES);
const scanNumbers: Float64Array = new Float64Array(SCAN_LINES * 4);
const scanSpans: Int32Array = new Int32Array(SCAN_LINES * 4);
let stopAt: i32 = 0;

// Where scanBody() leaves the values of the fields it read: [from, to) of
// page, pfn, order, migratetype and the fifth field (gfp_flags or percpu_refill).
const valueFrom: Int32Array = new Int32Array(5);
const valueTo: Int32Array = new Int32Array(5);

// The field names each kind prints, in order, as one ASCII string per kind.
const KEYS_ALLOC = ["page", "pfn", "order", "migratetype", "gfp_flags"];
const KEYS_FREE = ["page", "pfn", "order"];
const KEYS_ZONE_LOCKED = ["page", "pfn", "order", "migratetype", "percpu_refill"];
const KEYS_PCPU_DRAIN = ["page", "pfn", "order", "migratetype"];

/** 10^k for k < 16, each exact. */
const POW10: Float64Array = powersOfTen();

function powersOfTen(): Float64Array {
  const p = new Float64Array(16);
  let v: f64 = 1;
  for (let k = 0; k < 16; k++, v *= 10) unchecked(p[k] = v);
  return p;
}

/** Room for a chunk of `nbytes` bytes in scanIn. */
export function scanReserve(nbytes: i32): void {
  if (scanIn.length < nbytes) scanIn = new Uint8Array(nbytes);
}

export function scanInPtr(): usize { return dataPointer(scanIn); }
export function scanInArray(): Uint8Array { return scanIn; }
export function scanKindsPtr(): usize { return dataPointer(scanKinds); }
export function scanKindsArray(): Uint8Array { return scanKinds; }
export function scanNumbersPtr(): usize { return dataPointer(scanNumbers); }
export function scanNumbersArray(): Float64Array { return scanNumbers; }
export function scanSpansPtr(): usize { return dataPointer(scanSpans); }
export function scanSpansArray(): Int32Array { return scanSpans; }
export function scanStop(): i32 { return stopAt; }

// @ts-ignore: decorator
@inline function byteAt(i: i32): i32 { return i32(unchecked(scanIn[i])); }

// ---- the byte loops: 16 bytes a step on WASM with SIMD --------------------------------
// Most of a line's bytes are met in three loops: the search for its LF, the
// blanks that pad the prefix's columns, and the bytes inside a token. Each
// looks at whole 16-byte blocks first (never past `to`), then byte by byte.

/** The first LF in scanIn[i, to), or `to`. */
function findLf(i: i32, to: i32): i32 {
  if (ASC_TARGET != 0 && ASC_FEATURE_SIMD) {
    const base = dataPointer(scanIn);
    while (i + 16 <= to) {
      // @ts-ignore: wasm only
      const m = i8x16.bitmask(i8x16.eq(v128.load(base + usize(i)), i8x16.splat(i8(CH_LF))));
      if (m != 0) return i + ctz<i32>(m);
      i += 16;
    }
  }
  while (i < to && byteAt(i) != CH_LF) i++;
  return i;
}

/** The first byte of scanIn[i, to) that is not a blank, or `to`. */
function skipBlanks(i: i32, to: i32): i32 {
  if (ASC_TARGET != 0 && ASC_FEATURE_SIMD) {
    const base = dataPointer(scanIn);
    while (i + 16 <= to) {
      // @ts-ignore: wasm only
      const m = ~i8x16.bitmask(i8x16.eq(v128.load(base + usize(i)), i8x16.splat(i8(CH_SPACE)))) & 0xffff;
      if (m != 0) return i + ctz<i32>(m);
      i += 16;
    }
  }
  while (i < to && byteAt(i) == CH_SPACE) i++;
  return i;
}

/** The first byte of scanIn[i, to) that is not a plain token byte (printable ASCII but `[`), or `to`. */
function skipTokenBytes(i: i32, to: i32): i32 {
  if (ASC_TARGET != 0 && ASC_FEATURE_SIMD) {
    const base = dataPointer(scanIn);
    while (i + 16 <= to) {
      // @ts-ignore: wasm only
      const v = v128.load(base + usize(i));
      // @ts-ignore: wasm only
      const blankOrControl = i8x16.le_u(v, i8x16.splat(i8(CH_SPACE)));
      // @ts-ignore: wasm only
      const delOrHigh = i8x16.ge_u(v, i8x16.splat(127));
      // @ts-ignore: wasm only
      const bracket = i8x16.eq(v, i8x16.splat(i8(CH_BRACKET)));
      // @ts-ignore: wasm only
      const m = i8x16.bitmask(v128.or(v128.or(blankOrControl, delOrHigh), bracket));
      if (m != 0) return i + ctz<i32>(m);
      i += 16;
    }
  }
  for (; i < to; i++) {
    const c = byteAt(i);
    if (c <= CH_SPACE || c >= 127 || c == CH_BRACKET) break;
  }
  return i;
}

/** Splits and scans lines of scanIn[at, nbytes); returns how many (see the file comment). */
export function scanLines(at: i32, nbytes: i32): i32 {
  if (at < 0 || nbytes > scanIn.length) return 0;
  let n = 0;
  let from = at;
  while (from < nbytes && n < SCAN_LINES) {
    const lf = findLf(from, nbytes);
    const to = lf > from && byteAt(lf - 1) == CH_CR ? lf - 1 : lf;
    unchecked(scanSpans[4 * n] = from);
    unchecked(scanSpans[4 * n + 1] = to);
    unchecked(scanKinds[n] = u8(scanLine(from, to, n)));
    n++;
    from = lf + 1;
  }
  stopAt = from < nbytes ? from : nbytes;
  return n;
}

/** `[A-Za-z_]` */
// @ts-ignore: decorator
@inline function isIdentStart(c: i32): bool {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95;
}

/** `\w` */
// @ts-ignore: decorator
@inline function isIdentChar(c: i32): bool {
  return isIdentStart(c) || (c >= CH_0 && c <= CH_9);
}

/** scanIn[from, to) is `ident` or `ident:ident`. */
function isEventToken(from: i32, to: i32): bool {
  if (from >= to || !isIdentStart(byteAt(from))) return false;
  let colons = 0;
  for (let i = from + 1; i < to; i++) {
    const c = byteAt(i);
    if (c == CH_COLON) {
      if (++colons > 1 || i + 1 >= to || !isIdentStart(byteAt(i + 1))) return false;
    } else if (!isIdentChar(c)) {
      return false;
    }
  }
  return true;
}

/** scanIn[from, to) equals the ASCII `word`. */
function isWord(from: i32, to: i32, word: string): bool {
  if (to - from != word.length) return false;
  for (let i = 0; i < word.length; i++) if (byteAt(from + i) != word.charCodeAt(i)) return false;
  return true;
}

/** Whether scanIn[at, to) starts with `[LOST `. */
function isLost(at: i32, to: i32): bool {
  return to - at >= 6 && isWord(at, at + 6, "[LOST ");
}

/** The end of the token at `i` (a blank, or `to`), or -1 when the line is not for this scanner. */
function tokenEnd(i: i32, to: i32): i32 {
  while ((i = skipTokenBytes(i, to)) < to) {
    const c = byteAt(i);
    if (c == CH_SPACE) return i;
    if (c != CH_BRACKET || isLost(i, to)) return -1;
    i++;
  }
  return to;
}

/** The kind scanIn[from, to) names, or TRACE_LINE_OTHER. */
function eventKind(from: i32, to: i32): i32 {
  switch (to - from) {
    case 13: return isWord(from, to, "mm_page_alloc") ? TRACE_PAGE_ALLOC : TRACE_LINE_OTHER;
    case 12: return isWord(from, to, "mm_page_free") ? TRACE_PAGE_FREE : TRACE_LINE_OTHER;
    case 20: return isWord(from, to, "mm_page_free_batched") ? TRACE_PAGE_FREE_BATCHED : TRACE_LINE_OTHER;
    case 25: return isWord(from, to, "mm_page_alloc_zone_locked") ? TRACE_ZONE_LOCKED : TRACE_LINE_OTHER;
    case 18: return isWord(from, to, "mm_page_pcpu_drain") ? TRACE_PCPU_DRAIN : TRACE_LINE_OTHER;
    default: return TRACE_LINE_OTHER;
  }
}

/** The line scanIn[from, to) as line `n`: its prefix up to the event token, then its fields. */
function scanLine(from: i32, to: i32, n: i32): i32 {
  let i = from;
  let prevFrom = -1;
  let prevTo = -1;
  while (i < to) {
    i = skipBlanks(i, to);
    if (i >= to) break;
    const start = i;
    i = tokenEnd(i, to);
    if (i < 0) return TRACE_LINE_OTHER;
    if (prevFrom < 0 && byteAt(start) == CH_HASH) return TRACE_LINE_OTHER;
    if (i - start >= 2 && byteAt(i - 1) == CH_COLON && isEventToken(start, i - 1)) {
      // perf's `kmem:mm_page_alloc:`: the name follows the subsystem's colon.
      let nameFrom = start;
      for (let k = i - 2; k > start; k--) {
        if (byteAt(k) == CH_COLON) {
          nameFrom = k + 1;
          break;
        }
      }
      const kind = eventKind(nameFrom, i - 1);
      return kind == TRACE_LINE_OTHER ? kind : scanBody(kind, i, to, prevFrom, prevTo, n);
    }
    prevFrom = start;
    prevTo = i;
  }
  return TRACE_LINE_OTHER;
}

/** The keys `kind` prints. */
function keysOf(kind: i32): string[] {
  if (kind == TRACE_PAGE_ALLOC) return KEYS_ALLOC;
  if (kind == TRACE_ZONE_LOCKED) return KEYS_ZONE_LOCKED;
  if (kind == TRACE_PCPU_DRAIN) return KEYS_PCPU_DRAIN;
  return KEYS_FREE;
}

/** The fields after the event name, exactly ` key=value` in the kind's order; the kind, or TRACE_LINE_OTHER. */
function scanBody(kind: i32, at: i32, to: i32, tsFrom: i32, tsTo: i32, n: i32): i32 {
  const keys = keysOf(kind);
  const want = keys.length;
  let i = at;
  let field = 0;
  while (i < to) {
    if (byteAt(i) != CH_SPACE) return TRACE_LINE_OTHER;
    i++;
    if (i >= to) break;
    if (byteAt(i) == CH_SPACE) return TRACE_LINE_OTHER; // a run of blanks
    if (field >= want) return TRACE_LINE_OTHER;
    const key = unchecked(keys[field]);
    const eq = i + key.length;
    if (eq >= to || byteAt(eq) != CH_EQUALS || !isWord(i, eq, key)) return TRACE_LINE_OTHER;
    const end = tokenEnd(eq + 1, to);
    if (end < 0) return TRACE_LINE_OTHER;
    unchecked(valueFrom[field] = eq + 1);
    unchecked(valueTo[field] = end);
    field++;
    i = end;
  }
  if (field != want) return TRACE_LINE_OTHER;
  // A NULL page (a failed allocation) is the bindings' parser's to read.
  if (isNullValue(unchecked(valueFrom[0]), unchecked(valueTo[0]))) return TRACE_LINE_OTHER;
  const pfn = scanUnsigned(unchecked(valueFrom[1]), unchecked(valueTo[1]));
  const order = scanUnsigned(unchecked(valueFrom[2]), unchecked(valueTo[2]));
  if (pfn < 0 || order < 0 || order > MAX_ORDER_TEXT) return TRACE_LINE_OTHER;
  let migratetype: f64 = 0;
  if (want > 3) {
    migratetype = scanSigned(unchecked(valueFrom[3]), unchecked(valueTo[3]));
    if (migratetype != migratetype) return TRACE_LINE_OTHER; // NaN
  }
  let timestamp: f64 = -1;
  if (tsFrom >= 0) {
    timestamp = scanTimestamp(tsFrom, tsTo);
    if (timestamp == -2) return TRACE_LINE_OTHER;
  }
  unchecked(scanNumbers[4 * n] = pfn);
  unchecked(scanNumbers[4 * n + 1] = order);
  unchecked(scanNumbers[4 * n + 2] = migratetype);
  unchecked(scanNumbers[4 * n + 3] = timestamp);
  if (kind == TRACE_PAGE_ALLOC) {
    unchecked(scanSpans[4 * n + 2] = unchecked(valueFrom[4]));
    unchecked(scanSpans[4 * n + 3] = unchecked(valueTo[4]));
  } else if (kind == TRACE_ZONE_LOCKED) {
    // percpu_refill: the bindings' `raw.percpu_refill === "1"`.
    const from = unchecked(valueFrom[4]);
    unchecked(scanSpans[4 * n + 2] = unchecked(valueTo[4]) - from == 1 && byteAt(from) == 49 ? 1 : 0);
  }
  return kind;
}

/** `%p` of NULL: `(null)`, or `(0x)?0+`. */
function isNullValue(from: i32, to: i32): bool {
  if (isWord(from, to, "(null)")) return true;
  let i = from;
  if (to - i > 2 && byteAt(i) == CH_0 && (byteAt(i + 1) | 32) == 120) i += 2;
  if (i >= to) return false;
  for (; i < to; i++) if (byteAt(i) != CH_0) return false;
  return true;
}

/** A decimal or 0x-hex unsigned number of at most 13 digits, or -1. */
function scanUnsigned(from: i32, to: i32): f64 {
  let i = from;
  let base: f64 = 10;
  if (to - i > 2 && byteAt(i) == CH_0 && (byteAt(i + 1) | 32) == 120) {
    i += 2;
    base = 16;
  }
  if (i >= to || to - i > 13) return -1;
  let value: f64 = 0;
  for (; i < to; i++) {
    const c = byteAt(i);
    let d: i32;
    if (c >= CH_0 && c <= CH_9) d = c - CH_0;
    else if (base == 16 && (c | 32) >= 97 && (c | 32) <= 102) d = (c | 32) - 87;
    else return -1;
    value = value * base + f64(d);
  }
  return value;
}

/** `-?[0-9]+` of at most 15 digits, or NaN. */
function scanSigned(from: i32, to: i32): f64 {
  const neg = from < to && byteAt(from) == CH_MINUS;
  const start = neg ? from + 1 : from;
  if (start >= to || to - start > 15) return NaN;
  let value: f64 = 0;
  for (let i = start; i < to; i++) {
    const c = byteAt(i);
    if (c < CH_0 || c > CH_9) return NaN;
    value = value * 10 + f64(c - CH_0);
  }
  return neg ? -value : value;
}

/**
 * A `digits.digits:` token as seconds: the digits as an exact integer divided
 * by an exact power of ten (IEEE division rounds once, as Number() does); -1
 * when the token is no timestamp, -2 when it has more than 15 digits (the
 * bindings' scanner reads those with Number()).
 */
function scanTimestamp(from: i32, to: i32): f64 {
  if (byteAt(to - 1) != CH_COLON) return -1;
  let dot = -1;
  let value: f64 = 0;
  for (let i = from; i < to - 1; i++) {
    const c = byteAt(i);
    if (c == CH_DOT) {
      if (dot >= 0) return -1;
      dot = i;
    } else if (c >= CH_0 && c <= CH_9) {
      value = value * 10 + f64(c - CH_0);
    } else {
      return -1;
    }
  }
  if (dot <= from || dot >= to - 2) return -1;
  if (to - 1 - from - 1 > 15) return -2;
  return value / unchecked(POW10[to - 2 - dot]);
}
