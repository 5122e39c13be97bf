/**
 * Pants: an asynchronous, callback-oriented network programming framework
 * for Deno.
 *
 * - The {@linkcode Engine} (default instance {@linkcode engine}) keeps every
 *   channel and timer and calls your callbacks.
 * - Channels: {@linkcode Stream} (TCP, Unix sockets, TLS), {@linkcode Server},
 *   {@linkcode Datagram} (UDP).
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

export { Engine, engine, type EngineChannel, type EngineOptions } from "./engine/engine.ts";
export { Timer } from "./engine/timer.ts";
export {
  type ChannelCounts,
  type EngineStats,
  LOOP_LAG_BOUNDS_MS,
  type LoopLagHistogram,
} from "./engine/stats.ts";
export { PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from "./engine/prometheus.ts";
export { type Clock, ManualClock, realClock } from "./engine/clock.ts";
export type { AddressInput } from "./transport/address.ts";
export { ListenError, StreamConnectError, TlsHandshakeError } from "./transport/errors.ts";
export { ProxyError } from "./transport/proxy_error.ts";
export {
  type ProxyHeader,
  type ProxyHeaderAddress,
  type ProxyHeaderOptions,
  ProxyProtocolError,
  type ProxyProtocolErrorReason,
  type ProxyProtocolOptions,
  type ProxyTlv,
} from "./transport/proxy_protocol.ts";
export {
  DatagramError,
  type DatagramErrorOptions,
  type DatagramErrorReason,
} from "./transport/datagram_errors.ts";
export type { ListenOptions } from "./transport/listen_options.ts";
export type {
  PeerCertificate,
  StartTlsOptions,
  TlsClientOptions,
  TlsServerOptions,
} from "./transport/tls_options.ts";
export { Channel, type ChannelOptions, type CloseOptions } from "./channels/channel.ts";
export { FramedChannel, type StreamEncoding } from "./channels/framed_channel.ts";
export {
  BufferedChannel,
  type StreamPhase,
  type StreamServer,
} from "./channels/buffered_channel.ts";
export {
  ChannelClosedError,
  ConnectTimeoutError,
  StartTlsError,
  StreamBufferOverflow,
  WriteFileError,
} from "./channels/errors.ts";
export { Stream, type StreamTimeout } from "./channels/stream.ts";
export type { ConnectOptions, ReconnectOptions } from "./channels/connect_options.ts";
export { StreamCallbacks } from "./channels/stream_callbacks.ts";
export type { Pipe, PipeOptions } from "./channels/pipe_options.ts";
export type {
  FileSource,
  WriteFileOptions,
  WriteOptions,
  WritePackedOptions,
} from "./channels/write_options.ts";
export {
  type RejectReason,
  Server,
  type ServerCloseOptions,
  type ServerOptions,
  type StreamClass,
} from "./channels/server.ts";
export { Datagram, type DatagramAddress, type DatagramEncoding } from "./channels/datagram.ts";
export { Struct } from "./framing/struct.ts";
export { type StructInput, type StructValue } from "./framing/struct_value.ts";
export { NetStruct, type NetStructRecord } from "./framing/net_struct.ts";
export type { FrameRule, RecordStep } from "./framing/frame_rule.ts";
export type { FrameEncoding, ReadDelimiter } from "./framing/read_delimiter.ts";
export { WebSocketChannel } from "./websocket/websocket_channel.ts";
export { WebSocketCallbacks } from "./websocket/websocket_callbacks.ts";
export { WebSocketServer, type WebSocketServerOptions } from "./websocket/websocket_server.ts";
export type {
  HandshakeDecision,
  WebSocketConnectOptions,
  WebSocketServerSettings,
} from "./websocket/websocket_options.ts";
export { WebSocketHandshakeError } from "./websocket/errors.ts";
