/**
 * Messages out of data frames: a single-frame message passes through (a
 * binary payload as the reader's view, no copy); fragments are joined, text
 * decoded as it arrives, so invalid UTF-8 fails at the fragment that holds
 * it, even when a character is split across fragments. The reader already
 * bounded the message's size.
 *
 * @module
 */

/** Turns data frames into messages, validating text. */
export class MessageAssembler {
  /** Why the last `add` or `validate` failed (invalid UTF-8), or `""`. */
  failure = "";
  #fragmented = false;
  #parts: Uint8Array[] = [];
  #partsLength = 0;
  #text = "";
  readonly #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  readonly #streamDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  /**
   * Adds a data frame's payload.
   *
   * @param payload The unmasked payload (a view, valid during the call).
   * @param fin Whether the frame ends its message.
   * @param text Whether the message is text.
   * @returns The whole message once `fin`, else `null`; also `null` with `failure` set for invalid UTF-8.
   */
  add(payload: Uint8Array, fin: boolean, text: boolean): string | Uint8Array | null {
    if (fin && !this.#fragmented) {
      if (!text) return payload;
      try {
        return this.#decoder.decode(payload);
      } catch {
        return this.#invalid();
      }
    }
    this.#fragmented = !fin;
    if (text) {
      if (!this.validate(payload, fin, true)) return null;
      if (!fin) return null;
      const message = this.#text;
      this.#text = "";
      return message;
    }
    this.#parts.push(payload.slice());
    this.#partsLength += payload.length;
    if (!fin) return null;
    const message = new Uint8Array(this.#partsLength);
    let at = 0;
    for (const part of this.#parts) message.set(part, at), at += part.length;
    this.#parts = [];
    this.#partsLength = 0;
    return message;
  }

  /**
   * Checks a text fragment as part of a stream of them (for payloads that go
   * to a `readDelimiter` instead of being assembled).
   *
   * @param payload The fragment.
   * @param fin Whether it ends its message.
   * @param keep Whether to keep the decoded text for `add`.
   * @returns Whether it is valid so far; `false` sets `failure`.
   */
  validate(payload: Uint8Array, fin: boolean, keep = false): boolean {
    try {
      const decoded = this.#streamDecoder.decode(payload, { stream: !fin });
      if (keep) this.#text += decoded;
      return true;
    } catch {
      this.#invalid();
      return false;
    }
  }

  /**
   * Decodes the reason of a close frame's payload (after its 2-byte code).
   *
   * @param payload The payload, at least 2 bytes.
   * @returns The reason, or `null` with `failure` set.
   */
  closeReason(payload: Uint8Array): string | null {
    try {
      return this.#decoder.decode(payload.subarray(2));
    } catch {
      this.failure = "invalid UTF-8 in a close reason";
      return null;
    }
  }

  #invalid(): null {
    this.#text = "";
    this.#parts = [];
    this.#partsLength = 0;
    this.failure = "invalid UTF-8 in a text message";
    return null;
  }
}
