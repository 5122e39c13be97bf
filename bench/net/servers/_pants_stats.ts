/**
 * Bench hooks for the Pants servers: on `SIGUSR2` print one JSON line with
 * the engine's channel counts and `Deno.memoryUsage()` (the runner checks the
 * stream count returns to zero after each run; `SIGUSR1` would open the V8
 * inspector); on `SIGTERM` or `SIGINT` exit normally, so a
 * `--cpu-prof` profile is written.
 *
 * @module
 */

import { engine, type Server } from "../../../mod.ts";

/**
 * Installs the signal hooks for `server`.
 *
 * @example Usage
 * ```ts
 * import { Server, Stream } from "../../../mod.ts";
 * import { installBenchHooks } from "./_pants_stats.ts";
 *
 * installBenchHooks(new Server(Stream).listen(["127.0.0.1", 4040]));
 * ```
 *
 * @param server The server whose streams are counted.
 */
export function installBenchHooks(server: Server): void {
  Deno.addSignalListener("SIGUSR2", () => {
    const counts = engine.counts();
    console.log(JSON.stringify({
      stats: true,
      streams: counts.stream,
      servers: counts.server,
      channelCount: engine.channelCount,
      serverChannels: server.channels.size,
      ...Deno.memoryUsage(),
    }));
  });
  const exit = (): void => Deno.exit(0);
  Deno.addSignalListener("SIGTERM", exit);
  Deno.addSignalListener("SIGINT", exit);
}

/**
 * The port to listen on: the first command-line argument.
 *
 * @example Usage
 * ```ts
 * import { benchPort } from "./_pants_stats.ts";
 *
 * console.log(benchPort()); // 4040 without arguments
 * ```
 *
 * @returns The port number.
 */
export function benchPort(): number {
  return Number(Deno.args[0] ?? 4040);
}
