/**
 * The user guide in docs/ stays true:
 *
 * - every `ts` block type-checks against this checkout (imports of
 *   `@pants/pants`, `@pants/pants/testing` and `./examples/…` are pointed at
 *   it, as in tests/readme_test.ts);
 * - a block with a `Deno.test` runs under `deno test` with the sanitizers on;
 * - a block fenced as `ts run <flags>` runs with exactly those permission
 *   flags, must exit 0, and must print the `text` block that directly
 *   follows it, if there is one;
 * - every `deno run … examples/…` command is the one the example's header
 *   gives, and every `npm run <script>` names a script of package.json;
 * - every relative link points at an existing file, and at an existing
 *   heading when it names one;
 * - the pages of the guide all exist, index.md links each, and none holds a
 *   placeholder.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { anchors, slug } from "./_markdown.ts";

const repo = new URL("../", import.meta.url);
const docsDir = new URL("docs/", repo);

/** The guide's pages, in reading order. */
const PAGES = [
  "index.md",
  "getting-started.md",
  "tutorial.md",
  "engine.md",
  "channels.md",
  "timers.md",
  "framing.md",
  "tls.md",
  "clients.md",
  "websocket.md",
  "deploying.md",
  "testing.md",
  "performance.md",
];

/** Every Markdown file of docs/ (not the generated API reference). */
function pages(): string[] {
  return [...Deno.readDirSync(docsDir)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => entry.name)
    .sort();
}

const text = (page: string): string => Deno.readTextFileSync(new URL(page, docsDir));

/** A fenced block: its page, line, language, the rest of its info string, and code. */
interface Block {
  page: string;
  line: number;
  language: string;
  info: string;
  code: string;
  /** The code of a `text` block that directly follows, if any. */
  output: string | null;
  /** Where the block's closing fence ends in the page. */
  end: number;
}

/** The fenced blocks of a page, in order. */
function blocksOf(page: string): Block[] {
  const source = text(page);
  const fence = /^( *)```(\S*)([^\n]*)\n([\s\S]*?)^\1```$/gm;
  const found: Block[] = [];
  for (const match of source.matchAll(fence)) {
    const indent = match[1]!.length;
    const code = match[4]!.split("\n").map((line) => line.slice(indent)).join("\n");
    const line = source.slice(0, match.index).split("\n").length;
    const previous = found.at(-1);
    if (previous && previous.language === "ts" && match[2] === "text") {
      const between = source.slice(previous.end, match.index);
      if (between.trim() === "") previous.output = code;
    }
    found.push(
      {
        page,
        line,
        language: match[2]!,
        info: match[3]!.trim(),
        code,
        output: null,
        end: match.index! + match[0].length,
      } as Block & { end: number },
    );
  }
  return found;
}

const allBlocks = (): Block[] => pages().flatMap(blocksOf);
const tsBlocks = (): Block[] => allBlocks().filter((block) => block.language === "ts");

/** Points the package's own imports and `./examples/` imports at this checkout. */
function localImports(code: string): string {
  return code.replace(/from "([^"]+)"/g, (whole, specifier: string) => {
    if (specifier === "@pants/pants") return `from "${new URL("mod.ts", repo)}"`;
    if (specifier === "@pants/pants/testing") return `from "${new URL("testing.ts", repo)}"`;
    if (specifier.startsWith("./")) return `from "${new URL(specifier, repo)}"`;
    return whole;
  });
}

const where = (block: Block): string => `docs/${block.page}:${block.line}`;

/** Writes each block to a file of its own in `dir`; returns the paths by block. */
function writeBlocks(dir: string, blocks: Block[]): Map<Block, string> {
  const files = new Map<Block, string>();
  for (const block of blocks) {
    const name = `${block.page.replace(/\W/g, "_")}_${block.line}`;
    const path = `${dir}/${name}${block.code.includes("Deno.test(") ? "_test" : ""}.ts`;
    Deno.writeTextFileSync(path, localImports(block.code));
    files.set(block, path);
  }
  return files;
}

async function deno(args: string[], timeoutMs: number): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args,
    cwd: repo.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
}

const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pants_docs_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("docs has every page of the guide, and index.md links each", () => {
  const present = pages();
  for (const page of PAGES) ok(present.includes(page), `docs/${page} is missing`);
  const index = text("index.md");
  for (const page of PAGES.slice(1)) {
    ok(
      index.includes(`](${page})`) || index.includes(`](${page}#`),
      `index.md does not link ${page}`,
    );
  }
});

Deno.test("docs type-checks every ts block against this checkout", async () => {
  const blocks = tsBlocks();
  ok(blocks.length >= 40, `found only ${blocks.length} ts blocks`);
  await withTempDir(async (dir) => {
    const files = writeBlocks(dir, blocks);
    const output = await deno(
      ["check", "--quiet", `--config=${new URL("deno.json", repo).pathname}`, ...files.values()],
      120_000,
    );
    const names = [...files].map(([block, path]) =>
      `  ${path.slice(dir.length + 1)} = ${where(block)}`
    );
    ok(
      output.success,
      `docs ts blocks fail to type-check:\n${decode(output.stderr)}\nfiles:\n${names.join("\n")}`,
    );
  });
});

Deno.test("docs runs every block that holds a Deno.test, with the sanitizers on", async () => {
  const blocks = tsBlocks().filter((block) => block.code.includes("Deno.test("));
  ok(blocks.length >= 3, `found only ${blocks.length} test blocks`);
  await withTempDir(async (dir) => {
    const files = writeBlocks(dir, blocks);
    const output = await deno(
      [
        "test",
        "--quiet",
        "--sanitize-ops",
        "--sanitize-resources",
        `--config=${new URL("deno.json", repo).pathname}`,
        ...files.values(),
      ],
      120_000,
    );
    ok(
      output.success,
      `docs test blocks fail:\n${decode(output.stdout)}\n${decode(output.stderr)}`,
    );
  });
});

Deno.test("docs runs every `ts run` block with its flags, and it prints what the page shows", async () => {
  const blocks = tsBlocks().filter((block) => block.info.split(" ")[0] === "run");
  ok(blocks.length >= 5, `found only ${blocks.length} runnable blocks`);
  await withTempDir(async (dir) => {
    const files = writeBlocks(dir, blocks);
    for (const [block, path] of files) {
      const flags = block.info.split(/\s+/).slice(1);
      for (const flag of flags) ok(flag.startsWith("--"), `${where(block)}: "${flag}" is no flag`);
      const output = await deno(
        ["run", "--quiet", `--config=${new URL("deno.json", repo).pathname}`, ...flags, path],
        30_000,
      );
      const stdout = decode(output.stdout);
      ok(output.success, `${where(block)} failed:\n${stdout}\n${decode(output.stderr)}`);
      if (block.output !== null) {
        deepStrictEqual(stdout.trimEnd(), block.output.trimEnd(), `${where(block)}'s output`);
      }
    }
  });
});

Deno.test("docs imports nothing but Pants, node: and the examples", () => {
  for (const block of tsBlocks()) {
    for (const [, specifier] of block.code.matchAll(/from "([^"]+)"/g)) {
      ok(
        specifier!.startsWith("@pants/pants") || specifier!.startsWith("node:") ||
          specifier!.startsWith("./examples/"),
        `${where(block)}: unexpected import "${specifier}"`,
      );
    }
  }
});

Deno.test("docs runs each example with the command its header gives", () => {
  let count = 0;
  for (const block of allBlocks().filter((b) => b.language === "sh")) {
    for (
      const [, command, file] of block.code.matchAll(/^\s*(deno run [^\n#]*?examples\/(\w+\.ts))/gm)
    ) {
      count++;
      const source = Deno.readTextFileSync(new URL(`examples/${file}`, repo));
      const header = source.slice(0, source.indexOf("@module"));
      ok(
        header.includes(command!),
        `${where(block)}: examples/${file}'s header does not give:\n  ${command}`,
      );
    }
  }
  ok(count >= 10, `found only ${count} example commands`);
});

Deno.test("docs names only npm scripts that package.json defines", () => {
  const scripts = JSON.parse(Deno.readTextFileSync(new URL("package.json", repo))).scripts;
  for (const block of allBlocks().filter((b) => b.language === "sh")) {
    for (const [, script] of block.code.matchAll(/npm run ([\w:-]+)/g)) {
      ok(script! in scripts, `${where(block)}: no npm script "${script}"`);
    }
  }
});

Deno.test("docs' relative links point at existing files and headings", () => {
  let count = 0;
  for (const page of pages()) {
    const markdown = text(page).replace(/^( *)```[\s\S]*?^\1```$/gm, "").replace(/`[^`\n]*`/g, "");
    for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // https:, mailto:
      count++;
      const [path, anchor] = target!.split("#") as [string, string | undefined];
      const file = path === "" ? new URL(page, docsDir) : new URL(path, new URL(page, docsDir));
      let stat: Deno.FileInfo;
      try {
        stat = Deno.statSync(file);
      } catch {
        throw new Error(`docs/${page}: link "${target}" points at a missing file`);
      }
      if (anchor !== undefined) {
        ok(
          stat.isFile && file.pathname.endsWith(".md"),
          `docs/${page}: "${target}": anchor on a non-page`,
        );
        const known = anchors(Deno.readTextFileSync(file));
        ok(
          known.has(anchor),
          `docs/${page}: link "${target}": no such heading (${[...known].join(", ")})`,
        );
      }
    }
  }
  ok(count >= 50, `found only ${count} relative links`);
});

Deno.test("docs' anchor rule matches GitHub's for the headings we use", () => {
  deepStrictEqual(
    slug("2. A block echo server: `readDelimiter`"),
    "2-a-block-echo-server-readdelimiter",
  );
  deepStrictEqual(slug("Half-close, socket options"), "half-close-socket-options");
  deepStrictEqual(slug("TLS & STARTTLS"), "tls--starttls");
});

Deno.test("docs leaves no placeholder", () => {
  for (const page of pages()) {
    for (const word of ["TODO", "TBD", "XXX", "FIXME", "lorem"]) {
      ok(!text(page).includes(word), `docs/${page} contains "${word}"`);
    }
  }
});

Deno.test("docs explains the permission flags, Unix sockets' included, and start() rejecting", () => {
  const page = text("getting-started.md");
  const section = (heading: string): string => {
    const start = page.indexOf(`\n## ${heading}\n`);
    ok(start >= 0, `getting-started.md has no "${heading}" section`);
    const end = page.indexOf("\n## ", start + 1);
    return page.slice(start, end < 0 ? undefined : end);
  };
  const permissions = section("Permissions");
  ok(permissions.includes("--allow-net=unix:"), "the Unix socket flag is missing");
  ok(permissions.includes("--allow-read=") && permissions.includes("--allow-write="), permissions);
  const failures = section("When something fails");
  ok(failures.includes("`engine.start()` rejects"), "start() rejecting is not explained");
  ok(failures.includes("non-zero"), "the exit code is not explained");
});

Deno.test("docs keeps the two set-up commands first in getting-started.md", () => {
  const first = blocksOf("getting-started.md").find((block) => block.language === "sh")!;
  const setup = first.code.split("\n").map((line) => line.split("#")[0]!.trim());
  deepStrictEqual(setup.slice(0, 2), ["npm install && npm run demo", "npm install && npm test"]);
});

Deno.test("docs: deno.json has every npm script as a task, as getting-started.md says", () => {
  ok(text("getting-started.md").includes("`deno.json` has the same tasks as `package.json`"));
  const { scripts } = JSON.parse(Deno.readTextFileSync(new URL("package.json", repo)));
  const { tasks } = JSON.parse(Deno.readTextFileSync(new URL("deno.json", repo)));
  for (const [name, command] of Object.entries(scripts)) {
    deepStrictEqual(tasks[name], command, `deno.json's task "${name}" differs from npm's`);
  }
});
