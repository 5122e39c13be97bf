/**
 * Permission checks and the wording of failures to bind, connect or send,
 * for every socket the transport opens: TCP and Unix streams
 * (`_socket.ts`) and both datagram backends (`_datagram_*.ts`).
 *
 * Each message says which flag would have allowed the call
 * (`--allow-net=host:port`, or `--allow-read`, `--allow-write` and
 * `--allow-net=unix:` for a Unix path), spelled as Deno's command line wants
 * it. Keeping them here means a stream and a datagram channel refused the
 * same address say the same thing, and tests that assert the wording have one
 * place to follow. This module opens nothing and imports only `address.ts`,
 * so every socket module can use it without an import cycle.
 *
 * @module
 */

import { hostPort } from "./address.ts";

/** Something the process may be refused: a host and port, or a Unix socket path. */
export type PermissionTarget =
  | { readonly hostname: string; readonly port: number }
  | { readonly path: string };

/** Formats a target for messages: the path, or `host:port` ({@linkcode hostPort}). */
export function describeTarget(target: PermissionTarget): string {
  return "path" in target ? target.path : hostPort(target.hostname, target.port);
}

/**
 * Whether `error` is Deno refusing a call for want of a permission flag
 * (`NotCapable` since Deno 2; `PermissionDenied` before, and for the OS).
 */
export function isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/** The flags that permit binding, connecting or sending to `target`. */
export function permissionFlags(target: PermissionTarget): string {
  return "path" in target
    ? `--allow-read=${target.path} --allow-write=${target.path} --allow-net=unix:${target.path}`
    : `--allow-net=${hostPort(target.hostname, target.port)}`;
}

/** `permission denied: run with <flags>`, the reason given for a refused `target`. */
export function permissionDenied(target: PermissionTarget): string {
  return `permission denied: run with ${permissionFlags(target)}`;
}

/**
 * The reason given for a send `--allow-net` refused. A UDP destination's
 * port is usually a peer's own (a reply goes to the port its datagram came
 * from, a different one per client), so naming it would be no advice: the
 * flag names the host alone, which allows all its ports, and plain
 * `--allow-net` for replies to any host. A Unix path is named as for binds.
 */
export function sendDenied(target: PermissionTarget): string {
  if ("path" in target) return permissionDenied(target);
  const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  return `permission denied: run with --allow-net=${host} (all its ports: a reply goes to ` +
    "each sender's own port), or with plain --allow-net to answer any host";
}

/**
 * Whether `--allow-net` covers `host` (`"host:port"`, as {@linkcode hostPort}
 * spells it). With `request`, a permission still to be decided is asked for
 * (a prompt, when the process runs with one); otherwise only queried.
 */
export function netPermitted(host: string, request = false): boolean {
  try {
    const state = Deno.permissions.querySync({ name: "net", host }).state;
    if (state !== "prompt" || !request) return state === "granted";
    return Deno.permissions.requestSync({ name: "net", host }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * The error Deno would throw for `host`: made up front where the API would
 * fail late or not at all (`node:dgram` binds, connected datagram sockets).
 */
export function notPermitted(host: string): Deno.errors.NotCapable {
  return new Deno.errors.NotCapable(`Requires net access to "${host}"`);
}

/** The `code` of a Node or Deno error (`"EADDRINUSE"`), if it has one. */
export function errnoCode(error: unknown): string | undefined {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === "string" ? value : undefined;
}

/** The message of an `Error`, or the value as text. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why an address could not be bound, for errors that are not about
 * permissions: in use (by another `holder`), not available, or the system's
 * own refusal; else the error's message.
 */
export function bindReason(error: unknown, holder: "server" | "program"): string {
  const errno = errnoCode(error);
  if (error instanceof Deno.errors.AddrInUse || errno === "EADDRINUSE") {
    return `the address is already in use: stop the other ${holder} or choose another port`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable || errno === "EADDRNOTAVAIL") {
    return "the address is not available on this machine";
  }
  if (errno === "EACCES") return "access denied by the system (a port below 1024 needs privileges)";
  return errorText(error);
}

/**
 * Why binding `where` failed: the flags to add when Deno refused it, else
 * {@linkcode bindReason}.
 */
export function listenReason(
  error: unknown,
  where: PermissionTarget,
  holder: "server" | "program",
): string {
  return isPermissionError(error) ? permissionDenied(where) : bindReason(error, holder);
}
