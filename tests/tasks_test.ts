/**
 * The npm scripts and the Deno tasks run the same commands: npm's copy is
 * what a machine with only Node and npm uses (inside `deno task`, Deno runs
 * an npm-installed `deno` binary as a script and fails: denoland/deno#27114).
 */
import { strictEqual } from "node:assert/strict";

const root = new URL("../", import.meta.url);
const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
const npm = JSON.parse(await Deno.readTextFile(new URL("package.json", root)));

Deno.test("package.json scripts repeat the deno.json tasks word for word", () => {
  for (const name of ["test", "check", "check:imports", "build:wasm", "bench", "bench:net"]) {
    strictEqual(npm.scripts[name], deno.tasks[name], `script "${name}"`);
  }
});
