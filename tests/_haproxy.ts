/**
 * A real HAProxy (Debian package `haproxy`) for the tests of the PROXY
 * protocol and of the chat cluster: found on PATH or in /usr/sbin, run in
 * the foreground with a configuration written to a temporary directory.
 *
 * @module
 */

import { explainSkip } from "./_daemons.ts";
import { Subprocess, waitForPort } from "./_subprocess.ts";

/** HAProxy from PATH, or where Debian puts it (/usr/sbin is not on every PATH). */
export const haproxy: string | undefined = ["haproxy", "/usr/sbin/haproxy"].find((command) => {
  try {
    return new Deno.Command(command, { args: ["-v"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
});
if (haproxy === undefined) explainSkip("haproxy", "haproxy");

/** The start of a test's HAProxy configuration: TCP mode, short timeouts. */
export const HAPROXY_TCP_DEFAULTS = `global
  maxconn 64
defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
`;

/** A running HAProxy. */
export interface RunningHaproxy {
  /** Kills it and removes its configuration. */
  stop(): Promise<void>;
}

/**
 * Starts HAProxy with `config`; resolves once every port in `listens`
 * accepts connections.
 */
export async function runHaproxy(config: string, listens: number[]): Promise<RunningHaproxy> {
  const dir = await Deno.makeTempDir({ prefix: "pants_haproxy_" });
  await Deno.writeTextFile(`${dir}/haproxy.cfg`, config);
  const daemon = new Subprocess(haproxy!, ["-db", "-f", `${dir}/haproxy.cfg`]);
  const stop = async () => {
    try {
      daemon.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await daemon.status();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    for (const port of listens) await waitForPort(port, "127.0.0.1", 10_000);
  } catch (error) {
    await stop();
    throw new Error(`HAProxy did not start: ${daemon.stderr}`, { cause: error });
  }
  return { stop };
}
