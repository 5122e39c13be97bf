/**
 * Answering a plain HTTP request (or a refused upgrade) on a WebSocket
 * port: whatever the user's callback returns, sync or async, becomes one
 * HTTP/1.1 response; an exception or a rejected promise becomes a 500 and
 * goes to the channel's `onError`. Not on any hot path: closures are fine.
 *
 * @module
 */

import { errorResponse, renderResponse } from "./_handshake.ts";

/** What the answer needs from its channel. */
export interface HttpAnswerTarget {
  /** Whether the connection is gone (nothing to send then). */
  gone(): boolean;
  /** Sends the response's bytes, then closes after flushing. */
  send(bytes: Uint8Array): void;
  /** Reports an error of the user's callback. */
  report(error: unknown): void;
}

/**
 * Sends the response `produce()` gives (called at once), as HTTP/1.1.
 *
 * @param target The channel's side.
 * @param produce The user's callback.
 * @param head Whether the request was HEAD (the body is not sent).
 */
export function answer(
  target: HttpAnswerTarget,
  produce: () => Response | Promise<Response>,
  head: boolean,
): void {
  const failed = (error: unknown): void => {
    if (target.gone()) return;
    target.report(error);
    target.send(errorResponse(500, "Internal server error"));
  };
  let response: Response | Promise<Response>;
  try {
    response = produce();
  } catch (error) {
    return failed(error);
  }
  Promise.resolve(response).then((value) => {
    if (!(value instanceof Response)) throw new TypeError("onRequest must return a Response");
    return renderResponse(value, head);
  }).then((bytes) => {
    if (!target.gone()) target.send(bytes);
  }, failed);
}
