/**
 * `Stream.writeFile()`: an exclusive write job that streams a file (or a
 * range of it) to the connection in 64 KiB pieces.
 *
 * @module
 */

import { WriteFileError } from "./errors.ts";
import type { ExclusiveJob } from "./_writer.ts";
import type { FileSource, WriteFileOptions } from "./write_options.ts";

const PIECE = 64 * 1024;

function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new RangeError(`Invalid writeFile ${name} ${value}: expected a non-negative integer`);
  }
}

function describe(source: FileSource): string {
  if (typeof source === "string") return source;
  if (source instanceof URL) return source.href;
  return "<file>";
}

/**
 * Makes the job for one `writeFile()` call.
 *
 * @param source What to send.
 * @param options The range.
 * @param closed Whether the stream closed meanwhile (the job then stops).
 * @param fail Receives a `WriteFileError` when the file cannot be read.
 * @returns The job for the stream's writer.
 */
export function writeFileJob(
  source: FileSource,
  options: WriteFileOptions,
  closed: () => boolean,
  fail: (error: WriteFileError) => void,
): ExclusiveJob {
  checkCount("offset", options.offset);
  checkCount("length", options.length);
  const path = describe(source);
  return async (transport) => {
    const owned = typeof source === "string" || source instanceof URL;
    let file: Deno.FsFile | null = null;
    let sent = 0;
    try {
      file = owned ? await Deno.open(source, { read: true }) : source;
      if (options.offset) await file.seek(options.offset, Deno.SeekMode.Start);
      const piece = new Uint8Array(PIECE);
      const wanted = options.length ?? Infinity;
      while (sent < wanted && !closed()) {
        const n = await file.read(piece.subarray(0, Math.min(PIECE, wanted - sent)));
        if (n === null) {
          if (options.length !== undefined) {
            throw new RangeError(`the file ended after ${sent} of ${wanted} bytes`);
          }
          break;
        }
        for (let at = 0; at < n && !closed();) at += await transport.write(piece.subarray(at, n));
        sent += n;
      }
    } catch (error) {
      if (closed()) return;
      const reason = error instanceof Error ? error.message : String(error);
      fail(
        new WriteFileError(
          `Cannot send file "${path}" (${sent} bytes sent): ${reason}` +
            (error instanceof Deno.errors.NotCapable ? `; run with --allow-read=${path}` : ""),
          path,
          { cause: error },
        ),
      );
    } finally {
      if (owned && file !== null) file.close();
    }
  };
}
