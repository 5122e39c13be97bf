/**
 * Options of a stream's write calls: `write()`, `writePacked()` and `writeFile()`.
 *
 * @module
 */

import type { NetStruct } from "../framing/net_struct.ts";
import type { Struct } from "../framing/struct.ts";

/**
 * Options for `write()`.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Urgent extends Stream {
 *   override onConnect(): void {
 *     this.write("hello\n", { flush: true });
 *   }
 * }
 * ```
 */
export interface WriteOptions {
  /**
   * Start sending at once instead of at the end of the current iteration.
   *
   * @default {false}
   */
  flush?: boolean;
}

/**
 * Options for `writePacked()`: pack with this format instead of the `Struct` delimiter's.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Header extends Stream {
 *   override onConnect(): void {
 *     this.writePacked(1, 512, { format: "!BH" });
 *   }
 * }
 * ```
 */
export interface WritePackedOptions {
  /** A `Struct` format string such as `"!LLH"` (with `$` fields, a `NetStruct` one), or a `Struct` or `NetStruct`. */
  format: string | Struct | NetStruct;
}

/**
 * What `writeFile()` sends: a path, a `file:` URL, or an open file (left open).
 *
 * @example Usage
 * ```ts
 * import { type FileSource, Stream } from "@pants/pants";
 *
 * class Download extends Stream {
 *   file: FileSource = new URL("./README.md", import.meta.url);
 *   override onConnect(): void {
 *     this.writeFile(this.file);
 *   }
 * }
 * ```
 */
export type FileSource = string | URL | Deno.FsFile;

/**
 * Options for `Stream.writeFile()`.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Range extends Stream {
 *   override onConnect(): void {
 *     this.writeFile("./data.bin", { offset: 1024, length: 4096, flush: true });
 *   }
 * }
 * ```
 */
export interface WriteFileOptions {
  /**
   * Where in the file to start.
   *
   * @default {0}
   */
  offset?: number;
  /**
   * How many bytes to send; the rest of the file when omitted.
   *
   * @default {undefined}
   */
  length?: number;
  /**
   * Start sending at once instead of at the end of the current iteration.
   *
   * @default {false}
   */
  flush?: boolean;
}
