/**
 * The stream conformance suite over TLS: a `Server` after `startSSL` (a
 * `Deno.listenTls` listener), and a plain `Server` whose streams upgrade
 * with server-side STARTTLS before the suite's classes take over. The peers
 * are raw `Deno.connectTls` / `Deno.startTls` connections.
 */
import { conformanceSuite } from "./_conformance.ts";
import { testCerts } from "./_certs.ts";
import { readExactly, text, utf8 } from "./_helpers.ts";
import type { Stream, StreamClass } from "../mod.ts";

const { trusted } = await testCerts();

conformanceSuite({
  name: "TLS",
  listenAddress: () => ["127.0.0.1", 0],
  prepareServer: (server) => server.startSSL({ cert: trusted.cert, key: trusted.key }),
  connect: (address) =>
    Deno.connectTls({
      hostname: "127.0.0.1",
      port: (address as Deno.NetAddr).port,
      caCerts: [trusted.cert],
    }),
});

/**
 * Wraps a connection class: the stream first waits for a plaintext
 * "STARTTLS" line, replies "GO", upgrades, and only then runs the wrapped
 * class's `onConnect()` and `onRead()`.
 */
function startTlsFirst(Base: StreamClass): StreamClass {
  return class StartTlsFirst extends Base {
    #plaintext = true;

    override onConnect(): void {
      this.readDelimiter = "\r\n";
    }

    override onRead(...frame: unknown[]): void {
      if (!this.#plaintext) return super.onRead(...frame);
      if (text(frame[0] as Uint8Array) !== "STARTTLS") return this.close({ flush: false });
      this.write("GO\r\n");
      this.startSSL({ cert: trusted.cert, key: trusted.key });
    }

    override onSSLHandshake(): void {
      this.#plaintext = false;
      this.readDelimiter = null;
      super.onConnect();
    }
  };
}

conformanceSuite({
  name: "server-side STARTTLS",
  listenAddress: () => ["127.0.0.1", 0],
  prepareServer: (server) => {
    server.ConnectionClass = startTlsFirst(server.ConnectionClass as StreamClass<Stream>);
  },
  connect: async (address) => {
    const plain = await Deno.connect({
      hostname: "127.0.0.1",
      port: (address as Deno.NetAddr).port,
    });
    await plain.write(utf8("STARTTLS\r\n"));
    const reply = text(await readExactly(plain, 4));
    if (reply !== "GO\r\n") throw new Error(`Expected GO, got ${JSON.stringify(reply)}`);
    return await Deno.startTls(plain, { hostname: "localhost", caCerts: [trusted.cert] });
  },
});
