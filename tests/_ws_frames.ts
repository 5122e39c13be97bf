/**
 * Test helpers that speak WebSocket frames by hand, for hostile and
 * in-memory peers: an encoder with every field settable (bad ones too) and
 * a decoder of what a Pants channel sends.
 *
 * @module
 */

import type { Server, Stream } from "../mod.ts";
import { listening as serverListening } from "./_helpers.ts";

/**
 * Waits for a WebSocket server to listen (its channels' `onClose(code,
 * reason)` makes it no `Server<Stream>` for the shared helper's type).
 */
export function listening(server: { readonly listening: boolean }): Promise<Deno.Addr> {
  return serverListening(server as unknown as Server<Stream>);
}

/** A frame to encode; every field may be set to a value the protocol forbids. */
export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  /** RSV1-3 as bits 0x40, 0x20, 0x10. */
  rsv?: number;
  /** A masking key (client frames), or `null` for an unmasked frame. */
  mask?: Uint8Array | null;
  /** A declared length other than the payload's (the payload is then not all sent). */
  declaredLength?: number;
}

/** Encodes one frame. */
export function frame(spec: FrameSpec): Uint8Array {
  const payload = typeof spec.payload === "string"
    ? new TextEncoder().encode(spec.payload)
    : spec.payload ?? new Uint8Array(0);
  const mask = spec.mask === undefined ? new Uint8Array([0x37, 0xfa, 0x21, 0x3d]) : spec.mask;
  const length = spec.declaredLength ?? payload.length;
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv ?? 0) | spec.opcode];
  const maskBit = mask === null ? 0 : 0x80;
  if (length < 126) head.push(maskBit | length);
  else if (length < 0x10000) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const high = Math.floor(length / 2 ** 32);
    const low = length >>> 0;
    head.push(high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff);
    head.push(low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff);
  }
  if (mask !== null) head.push(...mask);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  for (let i = 0; i < payload.length; i++) {
    out[head.length + i] = payload[i]! ^ (mask === null ? 0 : mask[i % 4]!);
  }
  return out;
}

/** A decoded frame. */
export interface Decoded {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Decodes the frames in `bytes` (unmasking); returns them and the bytes left over. */
export function decodeFrames(bytes: Uint8Array): { frames: Decoded[]; rest: Uint8Array } {
  const frames: Decoded[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    const b1 = bytes[at + 1]!;
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (bytes.length - at < 4) break;
      length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
      header = 4;
    } else if (length === 127) {
      if (bytes.length - at < 10) break;
      length = new DataView(bytes.buffer, bytes.byteOffset + at + 2, 8).getUint32(4);
      header = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) header += 4;
    if (bytes.length - at < header + length) break;
    const payload = bytes.slice(at + header, at + header + length);
    if (masked) {
      const key = bytes.subarray(at + header - 4, at + header);
      for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    }
    frames.push({ fin: (bytes[at]! & 0x80) !== 0, opcode: bytes[at]! & 0x0f, masked, payload });
    at += header + length;
  }
  return { frames, rest: bytes.slice(at) };
}

/** The close code and reason of a close frame's payload. */
export function closeOf(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: "" };
  return {
    code: (payload[0]! << 8) | payload[1]!,
    reason: new TextDecoder().decode(payload.subarray(2)),
  };
}

/** A client's upgrade request head. */
export function upgradeRequest(path = "/", extra: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...extra,
  };
  let text = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return text + "\r\n";
}

/** The accept key RFC 6455 gives for the sample key above. */
export const SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
