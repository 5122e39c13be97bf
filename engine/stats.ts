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
  /**
   * Connections servers took from their listening sockets, those refused by
   * the connection limits included.
   */
  readonly accepted: number;
  /** Connections refused by `maxConnections` / `maxConnectionsPerAddress`. */
  readonly rejected: number;
  /** Receive buffers live in the WebAssembly framing core (process-wide). */
  readonly wasmRegions: number;
  /** Bytes those receive buffers hold (process-wide). */
  readonly wasmBufferBytes: number;
  /** How late (ms) the engine's host timer fired the last time: a measure of loop lag. */
  readonly loopLagMs: number;
  /** Every lateness of the host timer so far, as a histogram (see {@linkcode LoopLagHistogram}). */
  readonly loopLag: LoopLagHistogram;
}

/**
 * Upper bounds (ms) of the loop-lag histogram's buckets, ascending; a last
 * bucket without a bound holds the later observations.
 *
 * @example The largest bound
 * ```ts
 * import { LOOP_LAG_BOUNDS_MS } from "@pants/pants";
 *
 * console.log(LOOP_LAG_BOUNDS_MS.at(-1));
 * ```
 */
export const LOOP_LAG_BOUNDS_MS: readonly number[] = Object.freeze([
  1,
  2,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  10000,
]);

/**
 * How late the engine's host timer fired, every time it fired: the loop lag
 * an application saw. The engine arms one host timer for its next due timer
 * slot, so there is one observation per firing; an engine with no timers
 * due (no `defer`, `cycle` or stream timeout) makes none. A `cycle` timer
 * (e.g. `engine.cycle(1000, () => {})`) samples the lag once per period.
 *
 * @example The share of firings later than 10 ms
 * ```ts
 * import { engine } from "@pants/pants";
 *
 * const { boundsMs, counts, count } = engine.stats().loopLag;
 * const upTo10 = counts.slice(0, boundsMs.indexOf(10) + 1).reduce((a, b) => a + b, 0);
 * console.log(count === 0 ? 0 : (count - upTo10) / count);
 * ```
 */
export interface LoopLagHistogram {
  /** Upper bounds (ms) of the buckets, ascending ({@linkcode LOOP_LAG_BOUNDS_MS}). */
  readonly boundsMs: readonly number[];
  /**
   * Observations per bucket, not cumulative: `counts[i]` are those above
   * `boundsMs[i - 1]` and at most `boundsMs[i]`; the last entry (one more
   * than there are bounds) those above the last bound.
   */
  readonly counts: readonly number[];
  /** All observations. */
  readonly count: number;
  /** Sum of the observed lags (ms). */
  readonly sumMs: number;
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
  /** Connections accepted by servers (refused ones included). */
  accepted = 0;
  /** Connections refused by connection limits. */
  rejected = 0;
  /** How late the host timer fired the last time (ms). */
  loopLagMs = 0;
  /** Host timer firings per lag bucket (see {@linkcode LoopLagHistogram}). */
  readonly #lagCounts: Float64Array = new Float64Array(
    LOOP_LAG_BOUNDS_MS.length + 1,
  );
  #lagSumMs = 0;

  /**
   * Records one firing of the host timer: the last lag, and its bucket.
   * Runs once per host timer firing, never per read or frame.
   *
   * @param lateMs How late the host timer fired (ms, not negative).
   */
  observeLag(lateMs: number): void {
    this.loopLagMs = lateMs;
    this.#lagSumMs += lateMs;
    const bounds = LOOP_LAG_BOUNDS_MS;
    let i = 0;
    while (i < bounds.length && lateMs > bounds[i]!) i++;
    this.#lagCounts[i]!++;
  }

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
      accepted: this.accepted,
      rejected: this.rejected,
      wasmRegions: bufferGauges.regions(),
      wasmBufferBytes: bufferGauges.bytes(),
      loopLagMs: this.loopLagMs,
      loopLag: {
        boundsMs: LOOP_LAG_BOUNDS_MS,
        counts: Array.from(this.#lagCounts),
        count: this.#lagCounts.reduce((sum, n) => sum + n, 0),
        sumMs: this.#lagSumMs,
      },
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
