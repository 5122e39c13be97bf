/**
 * An engine's statistics ({@linkcode Engine.stats}) in the Prometheus text
 * exposition format (version 0.0.4), for a `/metrics` endpoint.
 *
 * Names follow Prometheus' conventions: base units (bytes, seconds),
 * `_total` on counters, a `# HELP` and a `# TYPE` line for each family. The
 * families, one per figure of `engine.stats()`:
 *
 * | family                                | type      | from `stats()`           |
 * | ------------------------------------- | --------- | ------------------------ |
 * | `pants_bytes_received_total`          | counter   | `bytesIn`                |
 * | `pants_bytes_sent_total`              | counter   | `bytesOut`               |
 * | `pants_frames_delivered_total`        | counter   | `frames`                 |
 * | `pants_buffer_overflows_total`        | counter   | `overflows`              |
 * | `pants_timeouts_total`                | counter   | `timeouts`               |
 * | `pants_connections_accepted_total`    | counter   | `accepted`               |
 * | `pants_connections_rejected_total`    | counter   | `rejected`               |
 * | `pants_streams_open`                  | gauge     | `channels.stream`        |
 * | `pants_servers_open`                  | gauge     | `channels.server`        |
 * | `pants_datagram_channels_open`        | gauge     | `channels.datagram`      |
 * | `pants_wasm_regions`                  | gauge     | `wasmRegions`            |
 * | `pants_wasm_buffer_bytes`             | gauge     | `wasmBufferBytes`        |
 * | `pants_loop_lag_seconds`              | histogram | `loopLag`                |
 * | `pants_loop_lag_last_seconds`         | gauge     | `loopLagMs`              |
 *
 * @module
 */

import { Engine } from "./engine.ts";
import type { EngineStats } from "./stats.ts";

/**
 * The `Content-Type` of {@linkcode prometheusMetrics}' text, for the HTTP
 * response that serves it.
 *
 * @example Usage
 * ```ts
 * import { PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from "@pants/pants";
 *
 * const response = new Response(prometheusMetrics(), {
 *   headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
 * });
 * console.log(response.headers.get("content-type"));
 * ```
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge";

/** The plain families: name, type, help, and how to read the value. */
const FAMILIES: readonly (readonly [string, Kind, string, (s: EngineStats) => number])[] = [
  [
    "pants_bytes_received_total",
    "counter",
    "Bytes read from sockets by streams and datagram channels.",
    (s) => s.bytesIn,
  ],
  [
    "pants_bytes_sent_total",
    "counter",
    "Bytes written to sockets.",
    (s) => s.bytesOut,
  ],
  [
    "pants_frames_delivered_total",
    "counter",
    "Frames (or datagrams) delivered to onRead.",
    (s) => s.frames,
  ],
  [
    "pants_buffer_overflows_total",
    "counter",
    "Read and write buffer overflows (StreamBufferOverflow).",
    (s) => s.overflows,
  ],
  [
    "pants_timeouts_total",
    "counter",
    "Idle and frame timeouts of streams.",
    (s) => s.timeouts,
  ],
  [
    "pants_connections_accepted_total",
    "counter",
    "Connections servers accepted, those refused by connection limits included.",
    (s) => s.accepted,
  ],
  [
    "pants_connections_rejected_total",
    "counter",
    "Connections refused by maxConnections or maxConnectionsPerAddress.",
    (s) => s.rejected,
  ],
  ["pants_streams_open", "gauge", "Open streams.", (s) => s.channels.stream],
  ["pants_servers_open", "gauge", "Open servers.", (s) => s.channels.server],
  [
    "pants_datagram_channels_open",
    "gauge",
    "Open datagram channels.",
    (s) => s.channels.datagram,
  ],
  [
    "pants_wasm_regions",
    "gauge",
    "Receive buffers live in the WebAssembly framing core (process-wide).",
    (s) => s.wasmRegions,
  ],
  [
    "pants_wasm_buffer_bytes",
    "gauge",
    "Bytes the framing core's receive buffers hold (process-wide).",
    (s) => s.wasmBufferBytes,
  ],
];

/** A sample value as the format writes it (Go's float syntax). */
function value(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/**
 * Renders an engine's statistics in the Prometheus text exposition format
 * (version 0.0.4): the counters and gauges of `engine.stats()` and the loop
 * lag as a histogram in seconds (`pants_loop_lag_seconds`, one observation
 * each time the engine's host timer fires; see `LoopLagHistogram`). Serve it
 * with {@linkcode PROMETHEUS_CONTENT_TYPE}. Taking the figures costs one
 * `stats()` call; nothing is kept between calls.
 *
 * The wasm gauges are process-wide: with several engines in one process,
 * every engine reports the same figure.
 *
 * @example A metrics endpoint next to a Pants server
 * ```ts
 * import { engine, PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from "@pants/pants";
 *
 * Deno.serve({ hostname: "127.0.0.1", port: 9464 }, () =>
 *   new Response(prometheusMetrics(engine), {
 *     headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
 *   }));
 * ```
 *
 * @example The text
 * ```ts
 * import { Engine, prometheusMetrics } from "@pants/pants";
 *
 * const text = prometheusMetrics(new Engine());
 * console.log(text.includes("pants_bytes_received_total 0\n")); // true
 * ```
 *
 * @param engine The engine whose statistics to render (default: the default engine).
 * @returns The metrics, one family after another, ending with a newline.
 */
export function prometheusMetrics(engine: Engine = Engine.instance()): string {
  const stats = engine.stats();
  let text = "";
  for (const [name, kind, help, read] of FAMILIES) {
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${kind}\n${name} ${value(read(stats))}\n`;
  }
  const lag = stats.loopLag;
  const name = "pants_loop_lag_seconds";
  text += `# HELP ${name} How late the engine's host timer fired, each time it fired.\n` +
    `# TYPE ${name} histogram\n`;
  let cumulative = 0;
  for (let i = 0; i < lag.boundsMs.length; i++) {
    cumulative += lag.counts[i]!;
    text += `${name}_bucket{le="${value(lag.boundsMs[i]! / 1000)}"} ${value(cumulative)}\n`;
  }
  text += `${name}_bucket{le="+Inf"} ${value(lag.count)}\n` +
    `${name}_sum ${value(lag.sumMs / 1000)}\n` +
    `${name}_count ${value(lag.count)}\n`;
  const last = "pants_loop_lag_last_seconds";
  text += `# HELP ${last} How late the engine's host timer fired the last time.\n` +
    `# TYPE ${last} gauge\n${last} ${value(stats.loopLagMs / 1000)}\n`;
  return text;
}
