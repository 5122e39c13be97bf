/**
 * Pants: an asynchronous, callback-oriented network programming framework
 * for Deno.
 *
 * - The {@linkcode Engine} (default instance {@linkcode engine}) keeps every
 *   channel and timer and calls your callbacks.
 * - Channels: {@linkcode Stream} (TCP, Unix sockets), {@linkcode Server}.
 * - Framing: `readDelimiter` cuts input into frames for `onRead`: chunks,
 *   delimiters, fixed blocks, regular expressions, {@linkcode Struct} and
 *   {@linkcode NetStruct} records. Delimiter scanning runs in WebAssembly.
 *
 * @example The five-line echo server
 * ```ts
 * import { engine, Server, Stream } from "@pants/pants";
 *
 * class Echo extends Stream {
 *   override onRead(data: Uint8Array): void {
 *     this.write(data);
 *   }
 * }
 * new Server(Echo).listen(4040);
 * engine.start();
 * ```
 *
 * @module
 */

export * from "./engine/engine.ts";
export * from "./engine/timer.ts";
export * from "./engine/clock.ts";
export * from "./channels/address.ts";
export * from "./channels/channel.ts";
export * from "./channels/errors.ts";
export * from "./channels/stream.ts";
export * from "./channels/server.ts";
export * from "./framing/struct.ts";
export * from "./framing/net_struct.ts";
export type { ReadDelimiter } from "./framing/_delimiter.ts";
