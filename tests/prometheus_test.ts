/**
 * prometheusMetrics(): the text checked by Prometheus' own parser and linter
 * (`promtool check metrics`, Debian's `prometheus` package; those tests are
 * skipped when it is not installed), and its values checked against real
 * connections; examples/metrics.ts serving it over HTTP.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  type Clock,
  Engine,
  LOOP_LAG_BOUNDS_MS,
  PROMETHEUS_CONTENT_TYPE,
  prometheusMetrics,
  Server,
  Stream,
} from "../mod.ts";
import { connectTo, listening, readExactly, until, withEngine } from "./_helpers.ts";
import { explainSkip, installed } from "./_daemons.ts";
import { freePort, runDeno, waitForPort } from "./_subprocess.ts";

const hasPromtool = installed("promtool");
if (!hasPromtool) explainSkip("promtool", "prometheus");

/** Runs `promtool check metrics` on `text`: its exit code and what it printed. */
async function promtoolCheck(
  text: string,
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

/**
 * The samples of a text promtool accepted, by series as written
 * (`name` or `name{labels}`); fails on a line it cannot read.
 */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    ok(match !== null, `unreadable sample line: ${line}`);
    found.set(match[1]!, Number(match[2]!.replace("+Inf", "Infinity")));
  }
  return found;
}

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

/** Sends `size` bytes through an echo server of `engine` and reads them back. */
async function echoThrough(engine: Engine, size: number): Promise<Deno.Conn> {
  const server = new Server({ ConnectionClass: Echo, engine }).listen([
    "127.0.0.1",
    0,
  ]);
  const conn = await connectTo(await listening(server));
  const payload = new Uint8Array(size).map((_, i) => i & 0xff);
  await conn.write(payload);
  deepStrictEqual(await readExactly(conn, size), payload);
  return conn;
}

Deno.test({
  name: "prometheusMetrics output passes promtool check metrics",
  ignore: !hasPromtool,
  fn: async () => {
    await withEngine(async (engine) => {
      const conn = await echoThrough(engine, 1000);
      // A due timer, so the loop-lag histogram has an observation.
      await new Promise<void>((resolve) => engine.defer(1, resolve));
      const text = prometheusMetrics(engine);
      const { code, output } = await promtoolCheck(text);
      strictEqual(output, "", text);
      strictEqual(code, 0, text);
      conn.close();
    });
  },
});

Deno.test({
  name: "promtool check metrics rejects a counter without _total (the check can fail)",
  ignore: !hasPromtool,
  fn: async () => {
    const text = prometheusMetrics(new Engine()).replaceAll(
      "pants_bytes_sent_total",
      "pants_sent",
    );
    const { code, output } = await promtoolCheck(text);
    ok(code !== 0, output);
    ok(
      output.includes('pants_sent counter metrics should have "_total" suffix'),
      output,
    );
  },
});

Deno.test("prometheusMetrics reports the bytes, frames and connections of a real connection", async () => {
  await withEngine(async (engine) => {
    const conn = await echoThrough(engine, 70_000);
    const got = samples(prometheusMetrics(engine));
    strictEqual(got.get("pants_bytes_received_total"), 70_000);
    strictEqual(got.get("pants_bytes_sent_total"), 70_000);
    ok(got.get("pants_frames_delivered_total")! >= 1);
    strictEqual(got.get("pants_connections_accepted_total"), 1);
    strictEqual(got.get("pants_connections_rejected_total"), 0);
    strictEqual(got.get("pants_streams_open"), 1);
    strictEqual(got.get("pants_servers_open"), 1);
    strictEqual(got.get("pants_datagram_channels_open"), 0);
    conn.close();
    await until(
      () => engine.stats().channels.stream === 0,
      "the stream to close",
    );
    strictEqual(
      samples(prometheusMetrics(engine)).get("pants_streams_open"),
      0,
    );
  });
});

Deno.test("prometheusMetrics counts connections refused by maxConnections as accepted and rejected", async () => {
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Echo, engine });
    server.maxConnections = 1;
    server.listen(["127.0.0.1", 0]);
    const address = await listening(server);
    const first = await connectTo(address);
    await until(() => engine.stats().channels.stream === 1, "the first stream");
    const second = await connectTo(address);
    await until(() => engine.stats().rejected === 1, "the refusal");
    const got = samples(prometheusMetrics(engine));
    strictEqual(got.get("pants_connections_accepted_total"), 2);
    strictEqual(got.get("pants_connections_rejected_total"), 1);
    first.close();
    second.close();
    await until(
      () => engine.stats().channels.stream === 0,
      "the streams to close",
    );
  });
});

Deno.test("prometheusMetrics reports host timer lateness in the loop lag histogram", async () => {
  // A clock whose host timer the test fires by hand, 30 ms after it was due.
  let now = 0;
  let pending: { fire: () => void; at: number } | null = null;
  const clock: Clock = {
    now: () => now,
    setTimer: (fire, delayMs) => {
      pending = { fire, at: now + delayMs };
      return 1;
    },
    clearTimer: () => pending = null,
  };
  const engine = new Engine({ clock });
  engine.defer(10, () => {});
  const finished = engine.start();
  await until(() => pending !== null, "the host timer to be armed");
  const { fire, at } = pending!;
  now = at + 30;
  fire();
  await finished; // the engine ran out of work
  const got = samples(prometheusMetrics(engine));
  strictEqual(got.get("pants_loop_lag_seconds_count"), 1);
  strictEqual(got.get("pants_loop_lag_seconds_sum"), 0.03);
  strictEqual(got.get("pants_loop_lag_last_seconds"), 0.03);
  strictEqual(got.get('pants_loop_lag_seconds_bucket{le="0.025"}'), 0);
  strictEqual(got.get('pants_loop_lag_seconds_bucket{le="0.05"}'), 1);
  strictEqual(got.get('pants_loop_lag_seconds_bucket{le="+Inf"}'), 1);
  const buckets = [...got.keys()].filter((k) => k.startsWith("pants_loop_lag_seconds_bucket"));
  strictEqual(buckets.length, LOOP_LAG_BOUNDS_MS.length + 1);
});

Deno.test("examples/metrics.ts serves /metrics counting its echo server's bytes", async () => {
  const port = freePort();
  const metricsPort = freePort();
  const example = new URL("../examples/metrics.ts", import.meta.url).pathname;
  const server = runDeno(
    [`--allow-net=127.0.0.1:${port},127.0.0.1:${metricsPort}`],
    example,
    [String(port), String(metricsPort)],
  );
  try {
    await server.waitForMatch(
      /metrics on http:\/\/127\.0\.0\.1:\d+\/metrics\n/,
    );
    await waitForPort(port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const payload = new Uint8Array(5000).fill(0x70);
    await conn.write(payload);
    await readExactly(conn, payload.length);
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    strictEqual(response.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
    const got = samples(await response.text());
    strictEqual(got.get("pants_bytes_received_total"), 5000);
    strictEqual(got.get("pants_streams_open"), 1);
    conn.close();
  } finally {
    await server.stop();
  }
});
