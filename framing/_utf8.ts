/**
 * UTF-8 helpers for text frames: where the last complete character ends,
 * and how many bytes a prefix of a string takes, without allocating.
 *
 * @module
 */

/** Length of the longest prefix of `bytes` that ends on a character boundary. */
export function completeUtf8Length(bytes: Uint8Array): number {
  const length = bytes.length;
  // Walk back over at most 3 continuation bytes to the last lead byte.
  for (let i = length - 1, seen = 0; i >= 0 && seen < 4; i--, seen++) {
    const byte = bytes[i]!;
    if ((byte & 0xc0) !== 0x80) {
      const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      return length - i >= need ? length : i;
    }
  }
  return length;
}

/** Bytes that UTF-16 code units `from` to `to` of `text` take in UTF-8. */
export function utf8Length(text: string, from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < to) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Text decoded leniently, with the byte offset where each UTF-16 code unit starts. */
export interface OffsetText {
  /** The text; each invalid byte became one U+FFFD. */
  readonly text: string;
  /** `offsets[i]`: the byte where code unit `i` starts; `offsets[text.length]` is the byte length. */
  readonly offsets: Uint32Array;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return 1;
  const length = lead >= 0xc2 && lead <= 0xdf
    ? 2
    : lead >= 0xe0 && lead <= 0xef
    ? 3
    : lead >= 0xf0 && lead <= 0xf4
    ? 4
    : 0;
  if (length === 0 || i + length > bytes.length) return 0;
  const second = bytes[i + 1]!;
  const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  if (second < low || second > high) return 0;
  for (let k = 2; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return 0;
  return length;
}

/**
 * Decodes UTF-8 that may be invalid, keeping where every character came
 * from: each invalid byte becomes one U+FFFD, so match positions in the
 * text map back to exact byte offsets.
 */
export function decodeUtf8WithOffsets(bytes: Uint8Array): OffsetText {
  const units: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      units.push(0xfffd);
      offsets.push(i);
      i++;
      continue;
    }
    let code = length === 1 ? bytes[i]! : bytes[i]! & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) code = (code << 6) | (bytes[i + k]! & 0x3f);
    if (code >= 0x10000) {
      code -= 0x10000;
      units.push(0xd800 | (code >> 10), 0xdc00 | (code & 0x3ff));
      offsets.push(i, i);
    } else {
      units.push(code);
      offsets.push(i);
    }
    i += length;
  }
  offsets.push(bytes.length);
  let text = "";
  for (let at = 0; at < units.length; at += 8192) {
    text += String.fromCharCode(...units.slice(at, at + 8192));
  }
  return { text, offsets: Uint32Array.from(offsets) };
}
