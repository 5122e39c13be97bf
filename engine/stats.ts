/**
 * What an engine counts: the counters channels bump on their hot paths (one
 * addition per read, write or batch of frames), and the snapshot
 * `engine.stats()` returns.
 *
 * @module
 */

/**
 * Attached channels by kind, from {@linkcode Engine.counts}.
 *
 * @example Usage
 * ```ts
 * import { engine } from "@pants/pants";
 *
 * const { stream, server, datagram } = engine.counts();
 * console.log(stream + server + datagram);
 * ```
 */
export interface ChannelCounts {
  /** Attached streams. */
  stream: number;
  /** Attached servers. */
  server: number;
  /** Attached datagram channels. */
  datagram: number;
}

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

/** The key under which an engine keeps its counters. */
export const statistics: unique symbol = Symbol("pants.statistics");

/** Mutable counters, one object per engine. */
export class EngineStatistics {
  /** Bytes read from all streams and datagram channels. */
  bytesIn = 0;
  /** Bytes written to sockets. */
  bytesOut = 0;
  /** Frames (or datagrams) delivered to `onRead`. */
  frames = 0;
  /** Read and write buffer overflows. */
  overflows = 0;
  /** Idle and frame timeouts. */
  timeouts = 0;
  /** Connections refused by connection limits. */
  rejected = 0;
  /** How late the host timer fired the last time (ms). */
  loopLagMs = 0;

  /**
   * The figures `engine.stats()` returns: these counters, `channels`, and
   * the framing core's {@linkcode bufferGauges}.
   *
   * @param channels The engine's attached channels by kind (kept, not copied).
   * @returns A fresh snapshot.
   */
  snapshot(channels: ChannelCounts): EngineStats {
    return {
      channels,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      frames: this.frames,
      overflows: this.overflows,
      timeouts: this.timeouts,
      rejected: this.rejected,
      wasmRegions: bufferGauges.regions(),
      wasmBufferBytes: bufferGauges.bytes(),
      loopLagMs: this.loopLagMs,
    };
  }
}

/**
 * Process-wide figures of the framing core's receive buffers, which
 * `stats()` reports. The engine knows nothing of the framing core: the core
 * installs its readers here when it loads.
 */
export const bufferGauges: {
  /** Receive buffers live. */
  regions: () => number;
  /** Bytes they hold. */
  bytes: () => number;
} = { regions: () => 0, bytes: () => 0 };
