/**
 * Running examples and foreign peers (Python, openssl) as subprocesses.
 *
 * @module
 */

import { until } from "./_helpers.ts";

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running subprocess whose output is collected. */
export class Subprocess {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<Deno.CommandStatus>;

  constructor(command: string, args: string[], options: Deno.CommandOptions = {}) {
    this.child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      ...options,
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) this[key] += decoder.decode(chunk, { stream: true });
    };
    const out = collect(this.child.stdout, "stdout");
    const err = collect(this.child.stderr, "stderr");
    this.#done = Promise.all([out, err, this.child.status]).then(([, , status]) => status);
  }

  /** Waits until stdout+stderr contains `text`. */
  async waitFor(text: string, timeoutMs = 10_000): Promise<void> {
    await until(() => (this.stdout + this.stderr).includes(text), `"${text}" in output`, timeoutMs);
  }

  /**
   * Waits until stdout matches `pattern` and returns the match (a line
   * written in pieces, as with PYTHONUNBUFFERED, matches only once whole).
   */
  async waitForMatch(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    let found: RegExpExecArray | null = null;
    await until(
      () => (found = pattern.exec(this.stdout)) !== null,
      `${pattern} in output`,
      timeoutMs,
    );
    return found!;
  }

  /** Waits for the process to exit. */
  status(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /** Kills the process (if still running) and waits for it. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    return await this.#done;
  }
}

/** Runs a Deno script with the given flags. */
export function runDeno(flags: string[], script: string, args: string[] = []): Subprocess {
  return new Subprocess(Deno.execPath(), ["run", ...flags, script, ...args]);
}

/** Waits until a TCP port accepts connections. */
export async function waitForPort(
  port: number,
  hostname = "127.0.0.1",
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname, port });
      conn.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/**
 * Debian's Python, for the tests that need its `websockets` package (which
 * `.ci/run` installs with apt): a `python3` earlier on PATH may lack it.
 */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Whether {@linkcode SYSTEM_PYTHON} can import `websockets`. */
export function systemPythonHasWebsockets(): boolean {
  try {
    return new Deno.Command(SYSTEM_PYTHON, {
      args: ["-c", "import websockets"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Runs a Python script given inline (unbuffered); returns stdout (throws on failure).
 *
 * @param command The interpreter: `python3` on PATH unless given.
 */
export async function python(
  script: string,
  args: string[] = [],
  command = "python3",
): Promise<string> {
  const output = await new Deno.Command(command, {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONUNBUFFERED: "1" },
  }).output();
  const out = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr)}\n${out}`);
  }
  return out;
}

/**
 * The start of a one-connection Python peer: listens on 127.0.0.1 (port 0),
 * prints `PORT <n>`, and accepts one connection as `conn` (10 s accept
 * timeout). Tests append what the peer then does.
 */
export const PY_ACCEPT_ONCE = `import socket, ssl, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
server.settimeout(10)
print("PORT", server.getsockname()[1], flush=True)
conn, _ = server.accept()
`;

/**
 * What a Python peer does after `PY_ACCEPT_ONCE` (or an accept of its own)
 * to test half-close: reads `conn` to EOF, then replies `got <bytes>` and closes.
 */
export const PY_READ_TO_EOF_THEN_REPLY = `total = 0
while True:
    data = conn.recv(65536)
    if not data: break
    total += len(data)
conn.sendall(f"got {total}\\n".encode())
conn.close()
`;
