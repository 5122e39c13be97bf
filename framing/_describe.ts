/**
 * `describe()`: a value as error messages quote it, short and never
 * `[object Object]`. One function for every message Pants writes about a
 * value a user passed (delimiters, struct values, addresses).
 *
 * @module
 */

const MOST = 40;

function clip(text: string): string {
  return text.length > MOST ? `${text.slice(0, MOST)}…` : text;
}

/**
 * A short, readable description of a value for an error message: strings
 * quoted, bigints with `n`, byte arrays by length, plain objects and arrays
 * as JSON, other objects by class name.
 *
 * @param value Any value.
 * @returns The description, at most about 40 characters of content.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(clip(value));
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "object": {
      if (value === null) return "null";
      if (ArrayBuffer.isView(value)) {
        return `${value.constructor.name}(${(value as Uint8Array).length ?? value.byteLength})`;
      }
      if (value instanceof RegExp) return clip(String(value));
      const name = value.constructor?.name;
      if (name === undefined || name === "Object" || name === "Array") {
        try {
          return clip(JSON.stringify(value) ?? String(value));
        } catch {
          return name ?? "object";
        }
      }
      return `a ${name}`;
    }
    default:
      return String(value);
  }
}
