/**
 * Real servers (redis-server, memcached) the protocol examples are tested
 * against: found on PATH, started on 127.0.0.1 with a free port, stopped
 * (killed) after the test.
 *
 * @module
 */

import { freePort, Subprocess, waitForPort } from "./_subprocess.ts";

/** Whether `command` can be run (it is installed and on PATH). */
export function installed(command: string, versionFlag = "--version"): boolean {
  try {
    return new Deno.Command(command, { args: [versionFlag], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Says once, on stderr, why a file's tests are skipped. */
export function explainSkip(command: string, debianPackage: string): void {
  console.error(
    `${command} is not installed: skipping its tests ` +
      `(install it with \`apt-get install -y ${debianPackage}\`)`,
  );
}

/**
 * Starts `command` with `args(port)` on a free port, runs `body(port)` once
 * the port accepts connections, then stops it.
 */
export async function withDaemon(
  command: string,
  args: (port: number) => string[],
  body: (port: number) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const daemon = new Subprocess(command, args(port));
  try {
    await waitForPort(port);
    await body(port);
  } finally {
    // SIGKILL: these servers keep no state worth saving, and memcached takes
    // about a second to exit on SIGTERM.
    try {
      daemon.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await daemon.status();
  }
}

/** A server on a fixed free port that a test stops and starts again on that same port. */
export class RestartableDaemon {
  readonly port: number = freePort();
  #process: Subprocess | null = null;

  /**
   * @param command The server, e.g. `redis-server`.
   * @param args Its arguments for a port.
   */
  constructor(readonly command: string, readonly args: (port: number) => string[]) {}

  /** Starts it; resolves once the port accepts connections. */
  async start(): Promise<this> {
    this.#process = new Subprocess(this.command, this.args(this.port));
    await waitForPort(this.port);
    return this;
  }

  /** Kills it (SIGKILL: a crash, as far as its clients can tell) and waits for it. */
  async kill(): Promise<void> {
    const process = this.#process;
    this.#process = null;
    try {
      process?.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await process?.status();
  }
}

/** redis-server on 127.0.0.1 at `port`, keeping nothing on disk. */
export function redisArgs(port: number): string[] {
  return ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
}
