/**
 * examples/rolling_restart.ts: one server generation replaced by the next
 * on the same port (`reusePort`) while clients keep asking, half of them on
 * long-lived connections, half on a new connection per request. No request
 * may fail: the old generation stops accepting, answers until each client
 * has its last reply, and exits.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { freePort, runDeno, type Subprocess } from "./_subprocess.ts";
import { text, utf8 } from "./_helpers.ts";

const script = new URL("../examples/rolling_restart.ts", import.meta.url).pathname;
const linux = Deno.build.os === "linux";

/** Reads lines from a connection; `null` at EOF, a reset, or after `timeoutMs` without one. */
class Lines {
  readonly #conn: Deno.Conn;
  #buffered = "";
  readonly #chunk = new Uint8Array(1024);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async next(timeoutMs = 5000): Promise<string | null> {
    const watchdog = setTimeout(() => this.#conn.close(), timeoutMs);
    try {
      for (;;) {
        const end = this.#buffered.indexOf("\n");
        if (end >= 0) {
          const line = this.#buffered.slice(0, end);
          this.#buffered = this.#buffered.slice(end + 1);
          return line;
        }
        const n = await this.#conn.read(this.#chunk);
        if (n === null) return null;
        this.#buffered += text(this.#chunk.subarray(0, n));
      }
    } catch {
      return null; // reset, or closed by the watchdog
    } finally {
      clearTimeout(watchdog);
    }
  }
}

interface Tally {
  served: Map<string, number>; // requests answered, by process id
  failed: string[];
  unserved: number; // connections closed before the greeting (never served: retried)
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed by the watchdog.
  }
}

/** Opens a connection and waits for the greeting; `null` if it ends first (never served). */
async function open(port: number, tally: Tally): Promise<[Deno.Conn, Lines] | null> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = new Lines(conn);
  if ((await lines.next())?.startsWith("hello ")) return [conn, lines];
  closeQuietly(conn);
  tally.unserved++;
  return null;
}

/** One request on an open connection: whether the connection goes on (no `bye`). */
async function ask(conn: Deno.Conn, lines: Lines, n: number, tally: Tally): Promise<boolean> {
  try {
    await conn.write(utf8(`${n}\n`));
  } catch (error) {
    tally.failed.push(`request ${n}: write failed: ${error}`);
    return false;
  }
  const reply = await lines.next();
  const match = reply === null ? null : /^(\d+) (\d+)( bye)?$/.exec(reply);
  if (match === null || Number(match[1]) !== n) {
    tally.failed.push(`request ${n}: got ${JSON.stringify(reply)}`);
    return false;
  }
  tally.served.set(match[2]!, (tally.served.get(match[2]!) ?? 0) + 1);
  return match[3] === undefined;
}

/** The most requests one client makes (the loops are bounded in time too). */
const MAX_REQUESTS = 100_000;

/** A client on long-lived connections: a new one only after a `bye`. */
async function longLived(port: number, tally: Tally, until: () => boolean): Promise<void> {
  let n = 0;
  while (!until() && n < MAX_REQUESTS) {
    const opened = await open(port, tally);
    if (opened === null) continue;
    const [conn, lines] = opened;
    while (!until() && n < MAX_REQUESTS && await ask(conn, lines, n++, tally));
    closeQuietly(conn);
  }
}

/** A client that opens a connection per request. */
async function perRequest(port: number, tally: Tally, until: () => boolean): Promise<void> {
  for (let n = 0; !until() && n < MAX_REQUESTS; n++) {
    const opened = await open(port, tally);
    if (opened === null) continue;
    await ask(opened[0], opened[1], n, tally);
    closeQuietly(opened[0]);
  }
}

function generation(port: number): Subprocess {
  return runDeno(
    ["--unstable-net", `--allow-net=127.0.0.1:${port}`],
    script,
    [String(port), "127.0.0.1", "3000"],
  );
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name: "a rolling restart of examples/rolling_restart.ts fails no request",
  ignore: !linux,
  async fn() {
    const port = freePort();
    const tally: Tally = { served: new Map(), failed: [], unserved: 0 };
    const first = generation(port);
    let second: Subprocess | null = null;
    let stop = false;
    let clients: Promise<void>[] = [];
    const deadline = Date.now() + 30_000; // every loop ends by then, whatever happens
    const until = () => stop || Date.now() > deadline;
    try {
      const pid1 = (await first.waitForMatch(/(\d+) listening on [^\n]*\n/, 30_000))[1]!;
      clients = Array.from(
        { length: 8 },
        (_, i) =>
          (i % 2 === 0 ? longLived : perRequest)(port, tally, until).catch((error) => {
            tally.failed.push(`a client stopped: ${error}`);
          }),
      );
      await pause(300);
      second = generation(port);
      const pid2 = (await second.waitForMatch(/(\d+) listening on [^\n]*\n/, 30_000))[1]!;
      await pause(300); // both generations serve
      const beforeSwitch = tally.served.get(pid1) ?? 0;
      first.child.kill("SIGTERM");
      const status = await first.status();
      await pause(300); // the second generation alone
      stop = true;
      await Promise.all(clients);

      console.log(
        `served ${JSON.stringify(Object.fromEntries(tally.served))}; ` +
          `${tally.unserved} connections reset before the greeting were retried`,
      );
      strictEqual(status.code, 0, first.stderr);
      ok(first.stdout.includes(`${pid1} drained`), first.stdout);
      deepStrictEqual(tally.failed, [], `failed requests (${tally.unserved} never served)`);
      ok(beforeSwitch > 20, `the first generation served ${beforeSwitch} before the switch`);
      ok((tally.served.get(pid2) ?? 0) > 20, `the second served ${tally.served.get(pid2)}`);
      deepStrictEqual([...tally.served.keys()].sort(), [pid1, pid2].sort());
    } finally {
      stop = true;
      await Promise.all(clients);
      await first.stop();
      await second?.stop();
    }
  },
});
