/**
 * The line chat of `chat.ts` over TLS: every line a client sends goes to
 * everyone. Make a certificate first (see the README's "TLS" section), then:
 *
 *     deno run --allow-net=0.0.0.0:4443 --allow-read=cert.pem,key.pem examples/secure_chat.ts cert.pem key.pem [port] [hostname]
 *
 * Try it with two terminals running
 * `openssl s_client -quiet -crlf -connect localhost:4443 -CAfile cert.pem`.
 * A client that fails the handshake (a plaintext one, or one that does not
 * trust the certificate) is reported in one line and never joins the chat.
 *
 * @module
 */
import { engine, type TlsHandshakeError } from "../mod.ts";
import { Chat, EchoLineToAll } from "./chat.ts";

/** A chat connection that only joins (and leaves) the chat after a successful handshake. */
class SecureLine extends EchoLineToAll {
  #joined = false;

  override onConnect(): void {
    this.#joined = true;
    super.onConnect();
  }

  override onSSLHandshakeError(error: TlsHandshakeError): void {
    console.error(`A client failed the TLS handshake: ${error.message}`);
    this.close({ flush: false });
  }

  override onClose(): void {
    if (this.#joined) super.onClose();
  }
}

class SecureChat extends Chat {
  override ConnectionClass = SecureLine;
}

function readPem(path: string | undefined, what: string): string {
  if (path === undefined) {
    console.error("Usage: secure_chat.ts cert.pem key.pem [port] [hostname]");
    Deno.exit(2);
  }
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    const hint = error instanceof Deno.errors.NotCapable
      ? `run with --allow-read=${path}`
      : String(error);
    console.error(`Cannot read the ${what} ${path}: ${hint}`);
    Deno.exit(1);
  }
}

const [certPath, keyPath, portArg, hostname] = Deno.args;
const cert = readPem(certPath, "certificate");
const key = readPem(keyPath, "private key");
const port = Number(portArg ?? 4443);

new SecureChat()
  .startSSL({ cert, key })
  .listen(hostname === undefined ? port : [hostname, port]);
engine.start();
