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

/** The buffered input decoded for searching, in step with the region's bytes. */
export class RegexText {
  /** The text of the first `bytes` buffered bytes. */
  text = "";
  /** Buffered bytes `text` holds (from the first unconsumed byte). */
  bytes = 0;
  /** Where each code unit starts in bytes, once the input held invalid UTF-8; else null. */
  offsets: number[] | null = null;
  /** The first character a new match may start at. */
  searchFrom = 0;

  /** Forgets everything: settings changed, or the bytes were consumed elsewhere. */
  reset(): void {
    this.text = "";
    this.bytes = 0;
    this.offsets = null;
    this.searchFrom = 0;
  }

  /**
   * Decodes the bytes of `view` not decoded yet.
   *
   * @param view The buffered bytes.
   * @param utf8 Decode as UTF-8 (else one character per byte).
   * @param whole The input is complete (a message): no character is held back.
   */
  extend(view: Uint8Array, utf8: boolean, whole: boolean): void {
    if (!utf8) {
      if (view.length > this.bytes) {
        this.text += bytesAsText(view.subarray(this.bytes));
        this.bytes = view.length;
      }
      return;
    }
    const end = whole ? view.length : completeUtf8Length(view);
    if (end <= this.bytes) return;
    const fresh = view.subarray(this.bytes, end);
    if (this.offsets === null) {
      try {
        this.text += strictUtf8.decode(fresh);
        this.bytes = end;
        return;
      } catch {
        // Invalid UTF-8: from now on keep where each character came from.
        const decoded = decodeUtf8WithOffsets(view.subarray(0, end));
        this.text = decoded.text;
        this.offsets = Array.from(decoded.offsets);
        this.bytes = end;
        return;
      }
    }
    const decoded = decodeUtf8WithOffsets(fresh);
    const base = this.bytes;
    this.offsets.pop(); // the old end, where the fresh bytes start
    for (const offset of decoded.offsets) this.offsets.push(base + offset);
    this.text += decoded.text;
    this.bytes = end;
  }

  /** Byte offset of character `index` (`index` up to `text.length`). */
  byteAt(index: number, utf8: boolean, from: number, fromByte: number): number {
    if (!utf8) return index;
    if (this.offsets !== null) return this.offsets[index]!;
    return fromByte + utf8Length(this.text, from, index);
  }

  /**
   * Drops the first `chars` characters (`bytes` bytes) after frames were
   * consumed; `searchFrom` moves with them.
   */
  drop(chars: number, bytes: number): void {
    if (chars === 0) return;
    this.text = this.text.slice(chars);
    this.bytes -= bytes;
    this.searchFrom = Math.max(0, this.searchFrom - chars);
    if (this.offsets !== null) {
      const rest = this.offsets.slice(chars);
      for (let i = 0; i < rest.length; i++) rest[i]! -= bytes;
      this.offsets = rest;
    }
  }
}
