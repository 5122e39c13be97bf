/**
 * A connection a server refused (`maxConnections`,
 * `maxConnectionsPerAddress`): a plain `Stream` that lives only to send the
 * reply `onReject` writes (after the TLS handshake on a TLS server), and
 * goes within a deadline whatever the peer does.
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import type { Timer } from "../engine/timer.ts";
import type { Transport } from "../transport/_socket.ts";
import { abortTransport, handshake, transportReleased } from "../transport/_tls.ts";
import { Stream } from "./stream.ts";
import { adopt } from "./_symbols.ts";

/** How long a refused connection may take to go when no `handshakeTimeout` applies. */
const REJECT_CLOSE_MS = 1000;

/**
 * The stream of a refused connection: once it closed and its socket is
 * gone, its deadline is cancelled (so a flood of refused peers holds no
 * timers).
 */
class Refused extends Stream {
  readonly #transport: Transport;
  readonly #deadline: Timer;

  constructor(engine: Engine, transport: Transport, deadline: Timer) {
    super({ engine });
    this.#transport = transport;
    this.#deadline = deadline;
  }

  override onClose(): void {
    const deadline = this.#deadline;
    transportReleased(this.#transport).then(() => deadline.cancel());
  }
}

/**
 * Refuses `transport`: `reply(stream)` runs once it is connected (after
 * the handshake when `tls`), then the stream closes, flushing; whatever
 * happens, it is closed `limit` ms after now (1 s when `limit` is 0).
 */
export function refuse(
  engine: Engine,
  transport: Transport,
  tls: boolean,
  limit: number,
  reply: (stream: Stream) => void,
): void {
  // Whatever the peer does (stays silent, never reads), the connection ends by then.
  const deadline = engine.defer(limit > 0 ? limit : REJECT_CLOSE_MS, () => {
    stream.close({ flush: false });
    abortTransport(transport);
  });
  const stream = new Refused(engine, transport, deadline);
  stream[adopt](transport, null);
  const answer = (): void => {
    if (!stream.connected) return;
    reply(stream);
    stream.close();
  };
  if (!tls) return answer();
  handshake(transport).then(answer, () => stream.close({ flush: false }));
}
