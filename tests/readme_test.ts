/**
 * README.md stays true and stays the front door: every `ts` block
 * type-checks against this checkout, the echo server is there verbatim,
 * every `deno run … examples/…` command names an example whose own header
 * gives the same command, the set-up commands are the ones CI runs, and
 * every page of the guide in docs/ is linked. The guide itself is checked by
 * tests/docs_test.ts.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { anchors } from "./_markdown.ts";

const repo = new URL("../", import.meta.url);
const readme = Deno.readTextFileSync(new URL("README.md", repo));

/** The echo server the README and the guide's index open with. */
const ECHO = `import { engine, Server, Stream } from "@pants/pants";

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}
new Server(Echo).listen(4040);
engine.start();
`;

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

/** The relative link targets of the README, outside code. */
function links(): string[] {
  const prose = readme.replace(/^( *)```[\s\S]*?^\1```$/gm, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!)
    .filter((target) => !/^[a-z]+:/.test(target));
}

Deno.test("README type-checks every ts block against this checkout", async () => {
  const code = blocks("ts");
  ok(code.length >= 1, "the README has no ts block");
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

Deno.test("README opens with the echo server verbatim, as the guide's index does", () => {
  deepStrictEqual(blocks("ts")[0], ECHO, "the README's first ts block is not the echo server");
  const index = Deno.readTextFileSync(new URL("docs/index.md", repo));
  ok(index.includes("```ts\n" + ECHO + "```"), "docs/index.md does not show the same echo server");
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
  ok(commands.length >= 1, "the README runs no example");
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

Deno.test("README's set-up commands are the ones CI runs, and demo runs the README's echo command", () => {
  const ci = Deno.readTextFileSync(new URL(".ci/run", repo));
  ok(/^step npm install\b/m.test(ci), ".ci/run does not run npm install");
  ok(/^npm test\b/m.test(ci), ".ci/run does not run npm test");
  const { scripts } = JSON.parse(Deno.readTextFileSync(new URL("package.json", repo)));
  const { tasks } = JSON.parse(Deno.readTextFileSync(new URL("deno.json", repo)));
  deepStrictEqual(scripts.test, tasks.test, "npm test and deno task test differ");
  ok(
    blocks("sh").some((block) => block.split("\n").some((line) => line.trim() === scripts.demo)),
    `the README does not show what npm run demo runs: ${scripts.demo}`,
  );
});

Deno.test("README links every page of the guide in docs/", () => {
  const targets = new Set(links().map((target) => target.split("#")[0]));
  const pages = [...Deno.readDirSync(new URL("docs/", repo))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  ok(pages.length >= 13, `found only ${pages.length} pages in docs/`);
  const missing = pages.filter((page) => !targets.has(page));
  deepStrictEqual(missing, [], `the README does not link: ${missing.join(", ")}`);
});

Deno.test("README's relative links point at existing files and headings", () => {
  for (const target of links()) {
    const [path, anchor] = target.split("#") as [string, string | undefined];
    ok(path !== "", `anchor-only link "${target}"`);
    try {
      Deno.statSync(new URL(path, repo));
    } catch {
      throw new Error(`README link "${target}" points at a missing file`);
    }
    if (anchor === undefined) continue;
    const known = anchors(Deno.readTextFileSync(new URL(path, repo)));
    ok(known.has(anchor), `README link "${target}": no such heading`);
  }
});

Deno.test("README shows the benchmark chart and links the performance page", () => {
  ok(readme.includes("](docs/bench.svg)"), "the chart docs/bench.svg is not shown");
  ok(readme.includes("](docs/performance.md)"), "docs/performance.md is not linked");
});

Deno.test("README leaves no placeholder", () => {
  for (const word of ["TODO", "TBD", "XXX", "CLUSTER_TABLE", "FIXME"]) {
    ok(!readme.includes(word), `README contains "${word}"`);
  }
});
