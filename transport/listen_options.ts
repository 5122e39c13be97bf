/**
 * Options for listening on a stream socket.
 *
 * @module
 */

/**
 * Options for `Server.listen()`.
 *
 * @example Usage
 * ```ts
 * import { Server, Stream } from "@pants/pants";
 *
 * new Server(Stream).listen(4040, { backlog: 1024 });
 * ```
 */
export interface ListenOptions {
  /**
   * Length of the kernel's queue of connections not yet accepted.
   *
   * @default {511}
   */
  backlog?: number;
  /**
   * Set `SO_REUSEPORT` (Linux), so several processes can listen on one port.
   *
   * @default {false}
   */
  reusePort?: boolean;
}
