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

/** Bytes that the first `chars` UTF-16 code units of `text` take in UTF-8. */
export function utf8Length(text: string, chars: number): number {
  let bytes = 0;
  for (let i = 0; i < chars; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < chars) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
