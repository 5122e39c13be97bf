/**
 * A Pants echo server with a Prometheus `/metrics` endpoint beside it
 * (`Deno.serve`), both on 127.0.0.1: scrape `http://127.0.0.1:9464/metrics`.
 *
 *     deno run --allow-net=127.0.0.1:4040,127.0.0.1:9464 examples/metrics.ts [port] [metrics port]
 *
 * @module
 */
import { engine, PROMETHEUS_CONTENT_TYPE, prometheusMetrics, Server, Stream } from "../mod.ts";

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

const port = Number(Deno.args[0] ?? 4040);
const metricsPort = Number(Deno.args[1] ?? 9464);

new Server(Echo).listen(["127.0.0.1", port]);
// The loop lag is observed each time the engine's host timer fires: a
// once-a-second timer keeps the histogram sampled even with no other timers.
engine.cycle(1000, () => {});

const http = Deno.serve({
  hostname: "127.0.0.1",
  port: metricsPort,
  onListen: ({ hostname, port }) => console.log(`metrics on http://${hostname}:${port}/metrics`),
}, (request) => {
  if (new URL(request.url).pathname !== "/metrics") {
    return new Response("not found\n", { status: 404 });
  }
  return new Response(prometheusMetrics(engine), {
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
  });
});

engine.stopOnSignals();
await engine.start();
await http.shutdown();
