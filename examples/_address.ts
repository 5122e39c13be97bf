/**
 * The examples' command line: `[port] [hostname]`. The port defaults to
 * 4040; without a hostname the server listens on all interfaces.
 *
 * @module
 */
import type { AddressInput } from "../mod.ts";

/** The address to listen on, from `Deno.args`. */
export function address(): AddressInput {
  const port = Number(Deno.args[0] ?? 4040);
  const hostname = Deno.args[1];
  return hostname === undefined ? port : [hostname, port];
}
