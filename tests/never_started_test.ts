/**
 * A script that gives an engine work but never starts it warns, once, at
 * exit, naming what never ran; started, polled and stopped engines and
 * `TestEngine`s never warn. Each case is a real subprocess.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runDeno } from "./_subprocess.ts";

const mod = new URL("../mod.ts", import.meta.url).href;
const testing = new URL("../testing.ts", import.meta.url).href;

/** Runs `body` as a script (with `flags`); returns its exit code and output. */
async function runScript(
  body: string,
  flags: string[] = [],
): Promise<{ code: number; stdout: string; warnings: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "pants_never_started_" });
  try {
    const script = `${dir}/script.ts`;
    await Deno.writeTextFile(
      script,
      `import { Datagram, Engine, engine, Server, Stream } from "${mod}";
import { TestEngine } from "${testing}";
void Datagram, Engine, engine, Server, Stream, TestEngine;
${body}
`,
    );
    const child = runDeno(flags, script);
    const timer = setTimeout(() => child.stop(), 20_000);
    const status = await child.status();
    clearTimeout(timer);
    const warnings = child.stderr.split("\n").filter((line) => line.startsWith("Pants:"));
    return { code: status.code, stdout: child.stdout, warnings };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("A script that listens and connects but never starts the engine warns once at exit", async () => {
  const run = await runScript(`
class Echo extends Stream {}
class Client extends Stream {}
new Server(Echo).listen(["127.0.0.1", 4040]);
new Client().connect(["127.0.0.1", 4040]);
new Client().connect(["127.0.0.1", 4041]);
engine.defer(10, () => {});
console.log("end of script");`);
  strictEqual(run.code, 0);
  strictEqual(run.stdout, "end of script\n");
  deepStrictEqual(run.warnings, [
    "Pants: the engine was never started, so 1 server (Server), 2 streams (Client) and 1 timer " +
    "did nothing: call engine.start() after creating them",
  ]);
});

Deno.test("An Engine of its own that is never started warns once, naming its datagram channel", async () => {
  const run = await runScript(`
const mine = new Engine();
class Beacon extends Datagram {}
new Beacon({ engine: mine }).listen(["127.0.0.1", 4040]);
mine.callback(() => {});
mine.callback(() => {});`);
  strictEqual(run.code, 0);
  deepStrictEqual(run.warnings, [
    "Pants: an Engine was never started, so 1 datagram channel (Beacon) and 2 timers on it did " +
    "nothing: call its start() after creating them",
  ]);
});

Deno.test("A script that exits with Deno.exit() before starting the engine still warns", async () => {
  const run = await runScript(`
new Server(Stream).listen(["127.0.0.1", 4040]);
Deno.exit(3);`);
  strictEqual(run.code, 3);
  strictEqual(run.warnings.length, 1);
  ok(run.warnings[0]!.includes("1 server (Server)"), run.warnings[0]);
});

Deno.test("A started, polled or stopped engine never warns at exit", async () => {
  const run = await runScript(
    `
engine.defer(1, () => console.log("timer ran"));
await engine.start();
const polled = new Engine();
polled.callback(() => console.log("polled"));
await polled.poll();
const stopped = new Engine();
new Stream({ engine: stopped }).connect(["127.0.0.1", 1]);
stopped.defer(1000, () => {});
await stopped.stop();`,
    ["--allow-net=127.0.0.1"],
  );
  strictEqual(run.code, 0);
  strictEqual(run.stdout, "timer ran\npolled\n");
  deepStrictEqual(run.warnings, []);
});

Deno.test("A TestEngine with work never flushed does not warn at exit", async () => {
  const run = await runScript(`
const tested = new TestEngine();
new Stream({ engine: tested }).connect(["127.0.0.1", 4040]);
tested.defer(10, () => {});`);
  strictEqual(run.code, 0);
  deepStrictEqual(run.warnings, []);
});

Deno.test("Channels that were given no work do not warn at exit", async () => {
  const run = await runScript(`
const stream = new Stream();
stream.readDelimiter = "\\n";
new Server(Stream);
const timer = engine.defer(10, () => {});
timer.cancel();`);
  strictEqual(run.code, 0);
  deepStrictEqual(run.warnings, []);
});

Deno.test("A script that queues work after its engine ran out of work warns once at exit", async () => {
  const run = await runScript(
    `
engine.defer(1, () => console.log("timer ran"));
await engine.start();
class Late extends Stream {}
new Late().connect(["127.0.0.1", 1]);
console.log("end of script");`,
    ["--allow-net=127.0.0.1"],
  );
  strictEqual(run.code, 0);
  strictEqual(run.stdout, "timer ran\nend of script\n");
  deepStrictEqual(run.warnings, [
    "Pants: the engine had already finished (out of work, or stopped), so 1 stream (Late) queued " +
    "after that did nothing: call engine.start() again after queueing work",
  ]);
});

Deno.test("An engine started again for the work queued after it finished does not warn", async () => {
  const run = await runScript(`
engine.defer(1, () => console.log("first"));
await engine.start();
engine.defer(1, () => console.log("second"));
await engine.start();`);
  strictEqual(run.code, 0);
  strictEqual(run.stdout, "first\nsecond\n");
  deepStrictEqual(run.warnings, []);
});
