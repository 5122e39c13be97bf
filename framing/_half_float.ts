/**
 * IEEE 754 binary16 ("half float", struct code `e`) conversions.
 *
 * Rounding is to nearest, ties to even, as CPython's `PyFloat_Pack2`. NaN
 * packs as the positive quiet NaN `0x7e00` (JavaScript does not keep a NaN's
 * sign reliably).
 *
 * @module
 */

/** Values at or above this magnitude round beyond the largest half (65504). */
const HALF_OVERFLOW = 65520;
/** Smallest positive normal half, 2^-14. */
const HALF_MIN_NORMAL = 2 ** -14;

/** Rounds a non-negative number to an integer, ties to even. */
function roundHalfEven(m: number): number {
  const floor = Math.floor(m);
  const rest = m - floor;
  if (rest > 0.5 || (rest === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

/**
 * Converts a number to the 16 bits of the nearest half float.
 *
 * @param x The number to convert.
 * @returns The half float bits (0 to 0xffff), or -1 when `x` is finite but
 * too large for a half float.
 */
export function toHalfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a >= HALF_OVERFLOW) return -1;
  if (a < HALF_MIN_NORMAL) {
    // Subnormal (or zero): units of 2^-24; a carry into 1024 is exactly the
    // smallest normal, whose encoding is 0x0400.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  // 2^e <= a < 2^(e+1), with -14 <= e <= 15. Math.log2 may be off by one
  // near powers of two, so correct it with exact comparisons.
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  // Mantissa scaled to [1024, 2048): exact, as scaling is by a power of two.
  let m = roundHalfEven(a * 2 ** (10 - e));
  if (m === 2048) {
    m = 1024;
    e++;
  }
  return sign | ((e + 15) << 10) | (m - 1024);
}

/**
 * Converts the 16 bits of a half float to a number.
 *
 * @param bits The half float bits (0 to 0xffff).
 * @returns The number the bits encode (exact).
 */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}
