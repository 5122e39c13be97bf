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
