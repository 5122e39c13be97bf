/**
 * `FramedChannel`: what streams and datagram channels share about input:
 * `readDelimiter`, `encoding`, `regexSearch` and `bufferSize`, all held by
 * one `Deframer` (framing/) per channel.
 *
 * @module
 */

import {
  Deframer,
  type DeframerMode,
  frameReady,
  framingFailed,
  inputOverflow,
  recordReady,
} from "../framing/_deframer.ts";
import type { FrameEncoding, ReadDelimiter } from "../framing/read_delimiter.ts";
import type { StructValue } from "../framing/struct_value.ts";
import { Channel, type ChannelOptions, reportError } from "./channel.ts";
import { deframer } from "./_symbols.ts";

/**
 * The text encodings a stream can decode frames with (see {@linkcode FrameEncoding}).
 *
 * @example Usage
 * ```ts
 * import { Stream, type StreamEncoding } from "@pants/pants";
 *
 * const encoding: StreamEncoding = "utf-8";
 * new Stream().encoding = encoding;
 * ```
 */
export type StreamEncoding = FrameEncoding;

/**
 * A channel whose input is cut into frames by `readDelimiter`: the base of
 * {@linkcode Stream} and {@linkcode Datagram}. Not subclassed directly.
 *
 * @example Settings every framed channel has
 * ```ts
 * import { type FramedChannel, Stream } from "@pants/pants";
 *
 * function lines(channel: FramedChannel): void {
 *   channel.readDelimiter = "\n";
 *   channel.encoding = "utf-8";
 *   channel.bufferSize = 4096;
 * }
 * lines(new Stream());
 * ```
 */
export abstract class FramedChannel extends Channel {
  /** @ignore */
  readonly [deframer]: Deframer;

  /**
   * Creates the channel and its read path.
   *
   * @param options The engine to join.
   * @param mode `"stream"`: partial frames carry over between reads;
   * `"message"`: each datagram is framed on its own.
   */
  constructor(options: ChannelOptions, mode: DeframerMode) {
    super(options);
    this[deframer] = new Deframer(this, mode);
  }

  /**
   * How input is cut into frames for `onRead` (on a datagram channel, each
   * datagram on its own):
   *
   * | `readDelimiter` | `onRead` receives |
   * | --- | --- |
   * | `null` (default) | each chunk as it arrives (each whole datagram) |
   * | a string or `Uint8Array` | the bytes before each occurrence (the delimiter is dropped) |
   * | a positive integer n | blocks of exactly n bytes |
   * | a `RegExp` | search mode: the bytes before each match; match mode (`regexSearch = false`): the `RegExpExecArray` of a match at the start |
   * | a `Struct` | the unpacked fields of each fixed-size record |
   * | a `NetStruct` | the unpacked fields of each length-prefixed record |
   *
   * With `encoding = "utf-8"`, frames are strings. It may change at any
   * time, also inside `onRead`: the rest of the input is framed with the
   * new value, no byte lost or repeated.
   *
   * @throws {TypeError} At assignment, for a value that is not a delimiter.
   */
  get readDelimiter(): ReadDelimiter {
    return this[deframer].readDelimiter;
  }
  set readDelimiter(value: ReadDelimiter) {
    this[deframer].readDelimiter = value;
  }

  /**
   * `RegExp` delimiters: search mode (`true`) passes the input before each
   * match and drops the match; match mode (`false`) passes the
   * `RegExpExecArray` of a match at the current position. A change inside
   * `onRead` applies to the rest of the input.
   *
   * @default {true}
   */
  get regexSearch(): boolean {
    return this[deframer].regexSearch;
  }
  set regexSearch(value: boolean) {
    this[deframer].regexSearch = value;
  }

  /**
   * `null`: frames are `Uint8Array`; `"utf-8"`: frames are strings (on a
   * stream, a character split across reads is never corrupted).
   *
   * @default {null}
   * @throws {TypeError} For another value.
   */
  get encoding(): FrameEncoding {
    return this[deframer].encoding;
  }
  set encoding(value: FrameEncoding) {
    this[deframer].encoding = value;
  }

  /**
   * The most input buffered for one frame (a stream) or the largest
   * datagram delivered. On a stream, a block size or a `Struct` larger than
   * it raises it for those frames.
   *
   * @default {65536}
   * @throws {RangeError} For a value that is not a positive integer.
   */
  get bufferSize(): number {
    return this[deframer].bufferSize;
  }
  set bufferSize(value: number) {
    this[deframer].bufferSize = value;
  }

  /** Frames (or datagrams) delivered to `onRead` so far. */
  get framesDelivered(): number {
    return this[deframer].framesDelivered;
  }

  /** @ignore */
  abstract [frameReady](data: Uint8Array | string | RegExpExecArray): void;

  /** @ignore */
  abstract [recordReady](values: StructValue[]): void;

  /** @ignore */
  abstract [inputOverflow](bytes: number, limit: number): void;

  /** @ignore */
  [framingFailed](error: unknown): void {
    reportError(this, error);
  }
}
