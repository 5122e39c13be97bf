/**
 * The engine's counters: plain numbers that channels bump on their hot
 * paths (one addition per read, write or batch of frames), read by
 * `engine.stats()`.
 *
 * @module
 */

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
}
