/**
 * What a `RegExp` delimiter searches: the buffered input as text, kept
 * across reads so each read decodes only the bytes it brought, and where the
 * next search may start so a bounded expression re-searches only the end of
 * the buffer.
 *
 * Cost model (also in the README): decoding is linear in the bytes that
 * arrive. Searching: an expression whose matches have a known most length
 * (no `*`, `+`, `{n,}`, back-reference or lookahead, e.g. `/\r?\n/`,
 * `/[;,]/`, `/\d{1,4};/`) resumes each read where a new match could begin,
 * so a read costs about its own length; any other expression is searched
 * again from the first unframed character on every read, so a read costs up
 * to the buffered length, which `bufferSize` bounds (and the expression's
 * own backtracking comes on top).
 *
 * @module
 */

import { completeUtf8Length, decodeUtf8WithOffsets, utf8Length } from "./_utf8.ts";

// A leading U+FEFF is text like any other: the decoder must not swallow it
// (that would also shift every byte offset after it).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * One character per byte (U+0000 to U+00FF), so match offsets are byte
 * offsets. `TextDecoder("latin1")` is windows-1252 and maps 0x80-0x9F
 * elsewhere, so it cannot serve.
 */
function bytesAsText(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.length; at += 8192) {
    text += String.fromCharCode.apply(null, bytes.subarray(at, at + 8192) as unknown as number[]);
  }
  return text;
}

/**
 * The most UTF-16 code units a match of `re` can take, or `Infinity` when
 * it has no bound (or a lookahead, which can make a match that ended before
 * the last read succeed only now). A generous over-estimate is fine.
 */
export function mostMatchLength(re: RegExp): number {
  const source = re.source;
  if (/(?<!\\)[*+]|\{\d*,\}|\\[1-9]|\\k<|\(\?[=!]/.test(source)) return Infinity;
  let repeat = 1;
  for (const [, n, m] of source.matchAll(/\{(\d+)(?:,(\d+))?\}/g)) {
    repeat *= Math.max(1, Number(m ?? n));
  }
  return source.length * repeat * 2; // 2: a character may be a surrogate pair
}

/**
 * The character every match of `re` ends with, when the expression ends
 * with one plain character outside any alternation (`/[ \t]*\r?\n/` ends
 * with "\n", `/\d+;/` with ";"); else null. A search is skipped while the
 * input that arrived since the last one holds no such character: a match
 * that could have ended earlier would have been found then.
 */
export function lastCharOf(re: RegExp): string | null {
  const source = re.source;
  if (source.includes("|") || source.length === 0) return null;
  let slashes = 0;
  for (let i = source.length - 2; i >= 0 && source[i] === "\\"; i--) slashes++;
  const last = source[source.length - 1]!;
  if (slashes % 2 === 1) {
    const control: Record<string, string> = { n: "\n", r: "\r", t: "\t", f: "\f", v: "\v" };
    if (last in control) return control[last]!;
    return /[A-Za-z0-9]/.test(last) ? null : last;
  }
  if ("\\^$.*+?()[]{}|/".includes(last)) return null;
  if (re.flags.includes("i") && last.toLowerCase() !== last.toUpperCase()) return null;
  return last;
}

/**
 * The part of the buffered input a search needs, decoded: bytes `start` to
 * `end` (counted from the first unconsumed byte). For a bounded expression
 * in search mode the window keeps only the tail where a new match can
 * begin, so neither decoding nor the search (which flattens its subject)
 * grows with what is buffered; otherwise it starts at the first unframed
 * byte.
 */
export class RegexText {
  /** The decoded text of bytes `start` to `end`. */
  text = "";
  /** The byte where `text` starts: bytes before it were searched, and no match starts there. */
  start = 0;
  /** The byte where `text` ends (bytes decoded so far). */
  end = 0;
  /** Where each code unit starts (bytes from `start`), once the input held invalid UTF-8; else null. */
  offsets: number[] | null = null;
  /** The first character of `text` a new match may start at. */
  searchFrom = 0;
  /** The characters the last `extend` decoded (all of `text` after a full decode). */
  fresh = "";

  /** Forgets everything: settings changed, or the bytes were consumed elsewhere. */
  reset(): void {
    this.text = "";
    this.start = this.end = this.searchFrom = 0;
    this.fresh = "";
    this.offsets = null;
  }

  /**
   * Decodes the bytes of `view` not decoded yet.
   *
   * @param view The buffered bytes.
   * @param utf8 Decode as UTF-8 (else one character per byte).
   * @param whole The input is complete (a message): no character is held back.
   */
  extend(view: Uint8Array, utf8: boolean, whole: boolean): void {
    this.fresh = "";
    if (!utf8) {
      if (view.length > this.end) {
        this.fresh = bytesAsText(view.subarray(this.end));
        this.text += this.fresh;
        this.end = view.length;
      }
      return;
    }
    const end = whole ? view.length : completeUtf8Length(view);
    if (end <= this.end) return;
    const fresh = view.subarray(this.end, end);
    if (this.offsets === null) {
      try {
        this.fresh = strictUtf8.decode(fresh);
        this.text += this.fresh;
        this.end = end;
        return;
      } catch {
        // Invalid UTF-8: from now on keep where each character came from,
        // and decode again from the window's start to have them all.
        const decoded = decodeUtf8WithOffsets(view.subarray(this.start, end));
        this.text = decoded.text;
        this.offsets = Array.from(decoded.offsets);
        this.end = end;
        this.searchFrom = 0;
        this.fresh = this.text;
        return;
      }
    }
    const decoded = decodeUtf8WithOffsets(fresh);
    const at = this.end - this.start;
    this.offsets.pop(); // the old end, where the fresh bytes start
    for (const offset of decoded.offsets) this.offsets.push(at + offset);
    this.fresh = decoded.text;
    this.text += decoded.text;
    this.end = end;
  }

  /**
   * Byte (from the first unconsumed byte) where character `index` of `text`
   * starts, counting on from a known pair (`from`, `fromByte`) before it.
   */
  byteAt(index: number, utf8: boolean, from: number, fromByte: number): number {
    if (!utf8) return this.start + index;
    if (this.offsets !== null) return this.start + this.offsets[index]!;
    return fromByte + utf8Length(this.text, from, index);
  }

  /**
   * Moves the window's start to character `chars` of `text` (byte `byte`);
   * with `consumed`, the bytes before it were framed and leave the buffer.
   */
  advance(chars: number, byte: number, consumed: number): void {
    if (chars > 0) {
      this.text = this.text.slice(chars);
      this.searchFrom = Math.max(0, this.searchFrom - chars);
      if (this.offsets !== null) {
        const shift = byte - this.start;
        const rest = this.offsets.slice(chars);
        for (let i = 0; i < rest.length; i++) rest[i] = rest[i]! - shift;
        this.offsets = rest;
      }
      this.start = byte;
    }
    this.start -= consumed;
    this.end -= consumed;
  }
}
