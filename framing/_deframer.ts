/**
 * The one read path of every channel: bytes in, frames out.
 *
 * A `Deframer` holds what turning received bytes into frames needs: the
 * region of the framing core that buffers them, the parsed `readDelimiter`
 * and the epoch that interrupts a batch when it changes, the encoding and
 * its streaming decoder, RegExp search and match, `Struct`/`NetStruct`
 * unpacking, overflow detection, and how much of the buffer the frame being
 * delivered leaves unread. It never sees a socket: a channel feeds it bytes
 * (`push` for a stream, `message` for a datagram or a message) and receives
 * frames through a small host interface, as `channels/_writer.ts` does for
 * writing. Callbacks the host runs for a frame may change the delimiter,
 * pause, upgrade or close: one epoch compare per frame notices it.
 *
 * Two modes:
 * - stream: a partial frame is carried over to the next `push`, and a
 *   character split across reads is decoded once whole;
 * - message: each `message()` is framed on its own, and bytes at its end
 *   that form no complete frame are discarded and counted for the host.
 *
 * Host callbacks are symbol-keyed methods of the channel itself, so an idle
 * channel pays for no closures.
 *
 * @module
 */

import { type FramingCore, MAX_FRAMES_PER_SCAN, SCAN_OVERFLOW } from "./_core.ts";
import { framingCore } from "./_wasm_core.ts";
import {
  checkBufferSize,
  type CoreDelimiter,
  type Delimiter,
  type FrameEncoding,
  parseDelimiter,
  type ReadDelimiter,
  type RecordUnpacking,
  type RegexDelimiter,
} from "./read_delimiter.ts";
import { RegexText } from "./_regex_text.ts";
import { completeUtf8Length } from "./_utf8.ts";
import type { StructValue } from "./struct_value.ts";

/** `host[frameReady](data)`: a frame (a view valid during the call), its text, or a RegExp match. */
export const frameReady: unique symbol = Symbol("pants.frameReady");
/**
 * `host[recordReady](values)`: the values of one `Struct` or `NetStruct`
 * record, in an array reused for the next record (copy it to keep it).
 */
export const recordReady: unique symbol = Symbol("pants.recordReady");
/** `host[inputOverflow](bytes, limit)`: buffered input was discarded; no frame completes within `limit`. */
export const inputOverflow: unique symbol = Symbol("pants.inputOverflow");
/** `host[framingFailed](error)`: a frame callback threw, or the framing core failed. */
export const framingFailed: unique symbol = Symbol("pants.framingFailed");

/** What a deframer delivers to: the channel. */
export interface DeframerHost {
  /** A frame: bytes (valid during the call only), text, or a `RegExpExecArray` in match mode. */
  [frameReady](data: Uint8Array | string | RegExpExecArray): void;
  /** The values of one record, in an array the next record reuses: valid during the call only. */
  [recordReady](values: StructValue[]): void;
  /** Input over the limit was discarded: `bytes` buffered or declared, over `limit`. */
  [inputOverflow](bytes: number, limit: number): void;
  /** A frame callback threw (the error), or the framing core failed (its error). */
  [framingFailed](error: unknown): void;
}

/** Whether partial frames carry over between inputs (`stream`) or each input is framed alone. */
export type DeframerMode = "stream" | "message";

/**
 * A region that held more than this is given back its spare capacity as
 * soon as it holds no more than a small region does, so an idle channel
 * keeps no large buffer whatever it received before.
 */
const TRIM_ABOVE = 16 * 1024;
/** What a trimmed region can still hold (its inline area, `MIN_REGION_BYTES`). */
const TRIMMED = 1024;

const EMPTY = new Uint8Array(0);

/** A frame from the core's staging area is being delivered (see `#drainCore`). */
let staging = false;

/** The bytes of an incomplete character a streaming decoder holds after `held` + `view`. */
function heldUtf8(held: Uint8Array, view: Uint8Array): Uint8Array {
  if (view.length > 0 && view[view.length - 1]! < 0x80) return EMPTY; // ends on ASCII
  const last = new Uint8Array(held.length + Math.min(view.length, 3));
  last.set(held);
  last.set(view.subarray(view.length - (last.length - held.length)), held.length);
  return last.slice(completeUtf8Length(last));
}

/** Cuts one channel's input into frames and hands them to its host. */
export class Deframer {
  readonly #host: DeframerHost;
  readonly #core: FramingCore;
  readonly #stream: boolean;
  #value: ReadDelimiter = null;
  #delimiter: Delimiter = parseDelimiter(null);
  #ruleStale = false;
  #encoding: FrameEncoding = null;
  #decoder: TextDecoder | null = null;
  #regexSearch = true;
  #bufferSize = 64 * 1024;
  /** Bumped by anything that must interrupt a batch of frames being delivered. */
  #epoch = 0;
  #held = false;
  #region = 0;
  /** Offset (from the first unconsumed byte) where the frame being delivered ends. */
  #frameNext = 0;
  #frames = 0;
  /** The region held more than `TRIM_ABOVE` bytes since it was last trimmed. */
  #grown = false;
  /** The bytes of a split character the streaming decoder holds (at most 3). */
  #heldText: Uint8Array = EMPTY;
  /** A view of the core's memory for record readers, kept while it stays the same. */
  #view: DataView | null = null;
  /** The text a RegExp delimiter searches, kept across reads. */
  readonly #regexText: RegexText = new RegexText();

  /**
   * Creates the read path of one channel.
   *
   * @param host The channel frames go to.
   * @param mode `stream` or `message`.
   * @param core The framing core (the process-wide WebAssembly one by default).
   */
  constructor(host: DeframerHost, mode: DeframerMode, core: FramingCore = framingCore) {
    this.#host = host;
    this.#stream = mode === "stream";
    this.#core = core;
  }

  // --- settings ------------------------------------------------------------

  /** The value assigned to `readDelimiter`. */
  get readDelimiter(): ReadDelimiter {
    return this.#value;
  }
  /** Parses and applies a delimiter: the next frame is cut with it. */
  set readDelimiter(value: ReadDelimiter) {
    this.#delimiter = parseDelimiter(value);
    this.#value = value;
    this.#ruleStale = true;
    this.#regexText.reset();
    this.#epoch++;
  }

  /** The parsed delimiter (for `writePacked`'s default format). */
  get delimiter(): Delimiter {
    return this.#delimiter;
  }

  /** `null`: frames are bytes; `"utf-8"`: frames are strings. */
  get encoding(): FrameEncoding {
    return this.#encoding;
  }
  set encoding(value: FrameEncoding) {
    if (value !== null && value !== "utf-8") {
      throw new TypeError(`Invalid encoding "${value}": use null (bytes) or "utf-8"`);
    }
    this.#encoding = value;
    this.#heldText = EMPTY;
    this.#decoder = null;
    this.#regexText.reset();
    this.#epoch++;
  }

  /** RegExp delimiters: search mode (`true`) or match mode. */
  get regexSearch(): boolean {
    return this.#regexSearch;
  }
  set regexSearch(value: boolean) {
    this.#regexSearch = Boolean(value);
    this.#regexText.reset();
    this.#epoch++;
  }

  /** The most bytes buffered while waiting for one frame. */
  get bufferSize(): number {
    return this.#bufferSize;
  }
  set bufferSize(value: number) {
    this.#bufferSize = checkBufferSize(value);
  }

  /**
   * While held, nothing is delivered (a paused, upgrading or closing
   * channel); input is still buffered. Holding interrupts a batch. In
   * message mode the channel feeds no message while held.
   */
  get held(): boolean {
    return this.#held;
  }
  set held(value: boolean) {
    if (value) this.#epoch++;
    this.#held = value;
  }

  // --- figures -------------------------------------------------------------

  /** Frames delivered so far. */
  get framesDelivered(): number {
    return this.#frames;
  }

  /** Bytes buffered and not yet consumed (a partial frame, or frames not yet delivered). */
  get buffered(): number {
    return this.#region === 0 ? 0 : this.#core.buffered(this.#region);
  }

  /** Bytes buffered after the frame being delivered: input no callback has seen yet. */
  get unread(): number {
    const buffered = this.#region === 0 ? 0 : this.#core.buffered(this.#region) - this.#frameNext;
    return buffered + this.#heldText.length;
  }

  // --- input ---------------------------------------------------------------

  /**
   * Stream mode: takes the bytes of one read and delivers every frame they
   * complete. `chunk` may be reused by the caller once this returns.
   *
   * @param chunk The bytes read.
   */
  push(chunk: Uint8Array): void {
    if (this.#delimiter.kind === "chunk" && this.#region === 0 && !this.#held) {
      this.#deliverChunk(chunk);
      return;
    }
    if (!this.#append(chunk)) return;
    this.drain();
    this.#release();
  }

  /**
   * Message mode: frames one message on its own.
   *
   * @param data The message.
   * @returns How many bytes at its end formed no complete frame (discarded).
   */
  message(data: Uint8Array): number {
    if (this.#delimiter.kind === "chunk") {
      this.#deliverChunk(data);
      return 0;
    }
    if (!this.#append(data)) return 0;
    const region = this.#region;
    this.drain();
    if (this.#region !== region) return 0; // closed by a callback
    const core = this.#core;
    const rest = core.buffered(region);
    if (rest > 0) core.consume(region, rest);
    this.#regexText.reset();
    this.#decoder?.decode(); // a message never continues the next one's text
    this.#release();
    return rest;
  }

  /** Delivers the complete frames buffered, until held or out of frames. */
  drain(): void {
    const core = this.#core;
    try {
      while (this.#region !== 0 && !this.#held) {
        const region = this.#region;
        const buffered = core.buffered(region);
        if (buffered === 0) return;
        if (buffered > TRIM_ABOVE) this.#grown = true;
        const delimiter = this.#delimiter;
        if (delimiter.kind === "chunk") {
          const base = core.base(region);
          const view = core.bytes(region).subarray(base, base + buffered);
          core.consume(region, buffered);
          this.#frameNext = 0;
          this.#deliverChunk(view);
          continue;
        }
        const more = delimiter.kind === "regex"
          ? this.#drainRegex(region, buffered, delimiter)
          : delimiter.struct !== null
          ? this.#drainStruct(region, buffered, delimiter.fixedSize, delimiter.record!)
          : this.#drainCore(region, buffered, delimiter);
        if (!more) return;
      }
    } catch (error) {
      // The core refused (memory exhausted, a rule it cannot hold): this
      // channel's input is lost, the process and other channels are not.
      this.#discard();
      this.#host[framingFailed](error);
    }
  }

  /** Gives a grown region back its spare capacity once it holds little again. */
  #release(): void {
    if (!this.#grown || this.#region === 0) return;
    if (this.#core.buffered(this.#region) > TRIMMED) return;
    this.#core.trim(this.#region);
    this.#grown = false;
  }

  /** Frees the region: the channel closed. Settings stay; input restarts empty. */
  close(): void {
    this.#epoch++;
    if (this.#region !== 0) {
      this.#core.close(this.#region);
      this.#region = 0;
    }
    this.#frameNext = 0;
    this.#ruleStale = true;
    this.#regexText.reset();
  }

  // --- delivery ------------------------------------------------------------

  /** Appends to the region (opened on first use); false if the core refused. */
  #append(chunk: Uint8Array): boolean {
    try {
      if (this.#region === 0) {
        this.#region = this.#core.open();
        this.#ruleStale = true;
      }
      this.#core.append(this.#region, chunk);
      return true;
    } catch (error) {
      this.#discard();
      this.#host[framingFailed](error);
      return false;
    }
  }

  #discard(): void {
    if (this.#region !== 0) this.#core.consume(this.#region, this.#core.buffered(this.#region));
    this.#regexText.reset();
    this.#frameNext = 0;
  }

  /** A view of the core's memory for record readers (kept while the memory stays). */
  #memoryView(buffer: ArrayBufferLike): DataView {
    const view = this.#view;
    return view !== null && view.buffer === buffer ? view : (this.#view = new DataView(buffer));
  }

  /**
   * Fixed-size records (a `Struct`): every whole record buffered, cut by
   * arithmetic without a scan (a fixed size never overflows the limit,
   * which is at least that size). True when the loop should go on.
   */
  #drainStruct(region: number, buffered: number, size: number, record: RecordUnpacking): boolean {
    const whole = buffered - buffered % size;
    if (whole === 0) return false;
    const core = this.#core;
    const bytes = core.bytes(region);
    const buffer = bytes.buffer;
    const view = this.#memoryView(buffer);
    const start = bytes.byteOffset + core.base(region);
    const { read, values } = record;
    const epoch = this.#epoch;
    const host = this.#host;
    let consumed = 0;
    while (consumed < whole) {
      const at = start + consumed;
      consumed += size;
      this.#frameNext = consumed;
      try {
        read(view, buffer, at, values);
        host[recordReady](values);
      } catch (error) {
        host[framingFailed](error);
      }
      if (this.#epoch !== epoch) break;
    }
    this.#frames += consumed / size;
    if (this.#region !== region) return false;
    core.consume(region, consumed);
    this.#frameNext = 0;
    return this.#epoch !== epoch;
  }

  /** One scan's frames; true when the loop should scan again. */
  #drainCore(region: number, buffered: number, delimiter: CoreDelimiter): boolean {
    const core = this.#core;
    if (this.#ruleStale) {
      core.setRule(region, delimiter.rule);
      this.#ruleStale = false;
    }
    const limit = delimiter.fixedSize > this.#bufferSize ? delimiter.fixedSize : this.#bufferSize;
    const count = core.scan(region, limit);
    if (count === SCAN_OVERFLOW) {
      this.#overflow(core.overflowBytes, limit);
      return false;
    }
    if (count === 0) return false;
    // The batch runs until a callback changes what delivery depends on
    // (delimiter, encoding, hold, close): one compare per frame.
    const epoch = this.#epoch;
    const host = this.#host;
    const frames = core.frames;
    const bytes = core.bytes(region);
    const base = core.base(region);
    let consumed = 0;
    let i = 0;
    const record = delimiter.record;
    if (record !== null) {
      // NetStruct records: unpacked by the format's compiled reader into one
      // array reused for every record (the host spreads or copies it).
      const { read, values } = record;
      const buffer = bytes.buffer;
      const view = this.#memoryView(buffer);
      const offset = bytes.byteOffset + base;
      while (i < count) {
        const at = i++ * 3;
        consumed = frames[at + 2]!;
        this.#frameNext = consumed;
        try {
          read(view, buffer, offset + frames[at]!, values);
          host[recordReady](values);
        } catch (error) {
          host[framingFailed](error);
        }
        if (this.#epoch !== epoch) break;
      }
    } else if (this.#encoding === null) {
      // `core.frame` hands a short frame out as a copy through a view it
      // reuses (no object per frame). That staging area is one per core: a
      // frame delivered while another one is (a callback that feeds another
      // deframer at once) gets a view of its own, made from the buffer (less
      // costly than subarray(): no species lookup). Callbacks never grow the
      // core's memory (only appends do), so the buffer stays attached for
      // the whole batch.
      const stage = !staging;
      staging = true;
      const buffer = bytes.buffer;
      try {
        while (i < count) {
          const at = i++ * 3;
          consumed = frames[at + 2]!;
          this.#frameNext = consumed;
          const start = base + frames[at]!;
          const length = frames[at + 1]! + base - start;
          try {
            host[frameReady](
              stage
                ? core.frame(region, start, length)
                : new Uint8Array(buffer, bytes.byteOffset + start, length),
            );
          } catch (error) {
            host[framingFailed](error);
          }
          if (this.#epoch !== epoch) break;
        }
      } finally {
        if (stage) staging = false;
      }
    } else {
      while (i < count) {
        const at = i++ * 3;
        consumed = frames[at + 2]!;
        this.#frameNext = consumed;
        this.#deliverText(delimiter, bytes, base + frames[at]!, base + frames[at + 1]!);
        if (this.#epoch !== epoch) break;
      }
    }
    this.#frames += i;
    if (this.#region !== region) return false;
    core.consume(region, consumed);
    this.#frameNext = 0;
    if (count === MAX_FRAMES_PER_SCAN || this.#epoch !== epoch) return true;
    // What follows the last frame may already be an overflow (a length
    // prefix declaring too much, or a delimiter missing for `limit` bytes):
    // scan again only then, so a plain read costs one scan.
    const rest = buffered - consumed;
    return rest > 0 && (delimiter.rule.kind === "record" || rest >= limit);
  }

  #deliverText(delimiter: CoreDelimiter, bytes: Uint8Array, start: number, end: number): void {
    const host = this.#host;
    try {
      host[frameReady](this.#text(bytes.subarray(start, end), delimiter.fixedSize > 0));
    } catch (error) {
      host[framingFailed](error);
    }
  }

  /** Delivers one chunk (the `null` delimiter). */
  #deliverChunk(view: Uint8Array): void {
    this.#frames++;
    try {
      this.#host[frameReady](this.#encoding === null ? view : this.#text(view, true));
    } catch (error) {
      this.#host[framingFailed](error);
    }
  }

  /**
   * Decodes a frame; `streaming` keeps a split character for the next one
   * (stream mode only). The bytes the decoder keeps are tracked: they are
   * unread input (STARTTLS must not pass them off as TLS-protected).
   */
  #text(view: Uint8Array, streaming: boolean): string {
    this.#decoder ??= new TextDecoder("utf-8", { ignoreBOM: true });
    const stream = streaming && this.#stream;
    const text = this.#decoder.decode(view, { stream });
    this.#heldText = stream ? heldUtf8(this.#heldText, view) : EMPTY;
    return text;
  }

  /**
   * Frames every regex match in the buffered input. The text is kept across
   * calls (`_regex_text.ts`: each read decodes only its own bytes, and a
   * bounded expression resumes where a new match could begin), and searched
   * on from each match's end. Returns true when the loop should go on (a
   * callback changed a setting).
   */
  #drainRegex(region: number, buffered: number, delimiter: RegexDelimiter): boolean {
    const core = this.#core;
    const base = core.base(region);
    const view = core.bytes(region).subarray(base, base + buffered);
    const utf8 = this.#encoding !== null;
    const window = this.#regexText;
    window.extend(view, utf8, !this.#stream);
    const text = window.text;
    const search = this.#regexSearch;
    const re = search ? delimiter.searchAll : delimiter.match;
    const epoch = this.#epoch;
    const host = this.#host;
    // The frame being cut starts at byte `atByte`; at character `at` of the
    // window, or before the window (-1) once a bounded search trimmed it.
    let at = window.start === 0 ? 0 : -1;
    let atByte = 0;
    let from = search ? window.searchFrom : 0;
    let frames = 0;
    // A match ends in what arrived since the last search (else that search
    // found it), and so needs there the character it must end with.
    const hopeless = delimiter.lastChar !== null &&
      !window.fresh.includes(delimiter.lastChar);
    while (!hopeless && from < text.length) {
      re.lastIndex = from;
      const found = re.exec(text);
      if (found === null) break;
      if (found[0].length === 0) {
        if (!search) break;
        from = found.index + 1; // an empty match cuts nothing: look further
        continue;
      }
      const end = found.index + found[0].length;
      const startByte = at >= 0
        ? window.byteAt(found.index, utf8, at, atByte)
        : window.byteAt(found.index, utf8, 0, window.start);
      const endByte = window.byteAt(end, utf8, found.index, startByte);
      this.#frameNext = endByte;
      frames++;
      try {
        if (!search) host[frameReady](found);
        else if (!utf8) host[frameReady](view.subarray(atByte, startByte));
        else if (at >= 0) host[frameReady](text.slice(at, found.index));
        else host[frameReady](this.#text(view.subarray(atByte, startByte), false));
      } catch (error) {
        host[framingFailed](error);
      }
      at = from = end;
      atByte = endByte;
      if (this.#epoch !== epoch) break;
    }
    this.#frames += frames;
    if (this.#region !== region) return false;
    this.#frameNext = 0;
    const changed = this.#epoch !== epoch;
    if (changed) {
      window.reset();
    } else {
      // No match starts before `from`; one that ends in bytes yet to come
      // starts at most `mostMatch` characters before the text's end.
      const keep = Math.max(from, text.length - delimiter.mostMatch + 1);
      window.searchFrom = keep;
      if (search && window.offsets === null && keep > 0 && keep < Infinity) {
        window.advance(
          keep,
          window.byteAt(keep, utf8, Math.max(at, 0), at >= 0 ? atByte : window.start),
          atByte,
        );
      } else {
        window.advance(Math.max(at, 0), atByte, atByte);
      }
    }
    if (atByte > 0) core.consume(region, atByte);
    if (this.#stream && frames === 0 && buffered >= this.#bufferSize) {
      this.#overflow(buffered, this.#bufferSize);
    }
    return frames > 0 && changed;
  }

  #overflow(bytes: number, limit: number): void {
    this.#discard();
    try {
      this.#host[inputOverflow](bytes, limit);
    } catch (error) {
      this.#host[framingFailed](error);
    }
  }
}
