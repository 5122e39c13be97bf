/**
 * The snapshot `engine.stats()` returns.
 *
 * @module
 */

import type { ChannelCounts } from "./engine.ts";

/**
 * What an engine has done and holds, from cheap counters (no per-frame
 * allocation; one addition per read, write or batch of frames).
 *
 * @example Logging the engine's figures every minute
 * ```ts
 * import { engine } from "@pants/pants";
 *
 * const timer = engine.cycle(60_000, () => console.log(engine.stats()));
 * timer.cancel();
 * ```
 */
export interface EngineStats {
  /** Open channels by kind. */
  readonly channels: ChannelCounts;
  /** Bytes read from sockets. */
  readonly bytesIn: number;
  /** Bytes written to sockets. */
  readonly bytesOut: number;
  /** Frames (or datagrams) delivered to `onRead`. */
  readonly frames: number;
  /** Read and write buffer overflows (`StreamBufferOverflow`). */
  readonly overflows: number;
  /** Idle and frame timeouts. */
  readonly timeouts: number;
  /** Connections refused by `maxConnections` / `maxConnectionsPerAddress`. */
  readonly rejected: number;
  /** Receive buffers live in the WebAssembly framing core (process-wide). */
  readonly wasmRegions: number;
  /** Bytes those receive buffers hold (process-wide). */
  readonly wasmBufferBytes: number;
  /** How late (ms) the engine's host timer fired the last time: a measure of loop lag. */
  readonly loopLagMs: number;
}
