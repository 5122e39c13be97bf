/**
 * README.md stays true: every `ts` block type-checks against this checkout,
 * every `deno run … examples/…` command names an example whose own header
 * gives the same command, and the set-up commands are the ones CI runs.
 */
import { deepStrictEqual, ok } from "node:assert/strict";

const repo = new URL("../", import.meta.url);
const readme = Deno.readTextFileSync(new URL("README.md", repo));

/** The fenced blocks of a language, in order. */
function blocks(language: string): string[] {
  const found: string[] = [];
  const fence = /^( *)```(\S*)[^\n]*\n([\s\S]*?)^\1```$/gm;
  for (const match of readme.matchAll(fence)) {
    if (match[2] !== language) continue;
    const indent = match[1]!.length;
    found.push(match[3]!.split("\n").map((line) => line.slice(indent)).join("\n"));
  }
  return found;
}

/** Points the package's own imports and relative imports at this checkout. */
function localImports(code: string): string {
  return code.replace(/from "([^"]+)"/g, (whole, specifier: string) => {
    if (specifier === "@pants/pants") return `from "${new URL("mod.ts", repo)}"`;
    if (specifier === "@pants/pants/testing") return `from "${new URL("testing.ts", repo)}"`;
    if (specifier.startsWith("./")) return `from "${new URL(specifier, repo)}"`;
    return whole;
  });
}

Deno.test("README type-checks every ts block against this checkout", async () => {
  const code = blocks("ts");
  ok(code.length >= 15, `found only ${code.length} ts blocks`);
  const dir = await Deno.makeTempDir({ prefix: "pants_readme_" });
  try {
    const files = code.map((block, i) => {
      const path = `${dir}/block_${String(i + 1).padStart(2, "0")}.ts`;
      Deno.writeTextFileSync(path, localImports(block));
      return path;
    });
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", `--config=${new URL("deno.json", repo).pathname}`, ...files],
      cwd: repo.pathname,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const errors = new TextDecoder().decode(output.stderr);
    ok(output.success, `README ts blocks (numbered in order) fail to type-check:\n${errors}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README imports nothing from jsr: and no bare package but Pants and node:", () => {
  for (const block of blocks("ts")) {
    for (const [, specifier] of block.matchAll(/from "([^"]+)"/g)) {
      ok(
        specifier!.startsWith("@pants/pants") || specifier!.startsWith("node:") ||
          specifier!.startsWith("./examples/"),
        `unexpected import "${specifier}"`,
      );
    }
  }
});

Deno.test("README runs each example with the command its header gives", () => {
  const commands = [...readme.matchAll(/^\s*(deno run [^\n#]*?examples\/(\w+\.ts))/gm)];
  ok(commands.length >= 8, `found only ${commands.length} example commands`);
  for (const [, command, file] of commands) {
    const source = Deno.readTextFileSync(new URL(`examples/${file}`, repo));
    const header = source.slice(0, source.indexOf("@module"));
    ok(
      header.includes(command!),
      `examples/${file}'s header does not give the README's command:\n  ${command}`,
    );
  }
});

Deno.test("README keeps the two set-up commands", () => {
  const setup = blocks("sh")[0]!.split("\n").map((line) => line.split("#")[0]!.trim());
  deepStrictEqual(setup.slice(0, 2), ["npm install && npm run demo", "npm install && npm test"]);
});

Deno.test("README leaves no placeholder", () => {
  for (const word of ["TODO", "TBD", "XXX", "CLUSTER_TABLE", "FIXME"]) {
    ok(!readme.includes(word), `README contains "${word}"`);
  }
});

Deno.test("README explains the permission flags, Unix sockets' included, and start() rejecting", () => {
  const start = readme.indexOf("## Permissions and failures");
  ok(start > 0, "no Permissions and failures section");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  ok(section.includes("--allow-net=unix:"), "the Unix socket flag is missing");
  ok(section.includes("--allow-read=") && section.includes("--allow-write="), section);
  ok(section.includes("`engine.start()` rejects"), "start() rejecting is not explained");
  ok(section.includes("non-zero"), "the exit code is not explained");
});
