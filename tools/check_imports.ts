/**
 * The import checker: keeps the source folders' dependency graph the shape
 * the layout promises. Run it with `npm run check:imports` (the same as
 * `deno run --allow-read tools/check_imports.ts`).
 *
 * It reads every `.ts` file of `engine/`, `framing/`, `transport/`,
 * `channels/`, `websocket/` and `wasm/` (not `wasm/assembly/`, which is AssemblyScript),
 * plus `mod.ts` and `testing.ts`, and every specifier they name in
 * `import … from`, `import "…"`, `export … from` and `import("…")`,
 * type-only ones included. Specifiers in comments (JSDoc examples) and
 * strings do not count. Relative specifiers are resolved; package ones
 * (`node:`, `jsr:`, `npm:`, bare names) are outside the rules.
 *
 * The rules, one violation line each (`file:line: import "…" …  (rule: …)`):
 *
 * 1. No import cycles among those files; type-only imports count.
 * 2. Layers, bottom to top: `engine/` ← `framing/` ← `transport/` ←
 *    `channels/` ← `websocket/` ← `mod.ts`, `testing.ts`. A file imports only from its own
 *    layer or lower ones. `wasm/` imports nothing outside `wasm/`, and only
 *    `framing/` imports `wasm/`.
 * 3. `mod.ts` names no internal file (one whose name starts with `_`);
 *    `testing.ts` may import internal symbols for the harness but never
 *    re-exports them (`export … from "./_x.ts"`, or `export { x }` of a
 *    name imported from one).
 * 4. Source files import only source files: never `tests/`, `bench/`,
 *    `examples/`, nor anything else outside the source folders.
 *
 * The scanner is a small tokenizer, not a TypeScript parser: it knows
 * comments, strings, template literals and regular expression literals
 * well enough that none of them is mistaken for an import.
 *
 * @module
 */

import { posix } from "node:path";
import { fileURLToPath } from "node:url";

/** One specifier a module names. */
export interface ModuleReference {
  /** The specifier as written. */
  specifier: string;
  /** The 1-based line of the specifier. */
  line: number;
  /** `import … from` / `import "…"`, `export … from`, or `import("…")`. */
  kind: "import" | "export" | "dynamic";
  /** Whether only types are imported (`import type`, `export type`, all `{ type x }`). */
  typeOnly: boolean;
  /** Local names an `import` declaration binds. */
  bindings: string[];
}

/** What the checker reads from one module. */
export interface ModuleScan {
  /** Every specifier, in source order. */
  references: ModuleReference[];
  /** Local names exported by `export { a, b as c }` (no `from`), with their lines. */
  localExports: { name: string; line: number }[];
}

// --- tokenizer -----------------------------------------------------------------

interface Token {
  kind: "name" | "string" | "template" | "number" | "punct" | "regex";
  /** Names, punctuators, string values; a template's text if it has no substitution. */
  value: string;
  line: number;
}

/** Names after which a `/` starts a regular expression, not a division. */
const BEFORE_EXPRESSION = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

const isNameStart = (c: string): boolean => /[A-Za-z_$\\]/.test(c) || c.charCodeAt(0) > 0x7f;
const isNamePart = (c: string): boolean => /[\w$\\]/.test(c) || c.charCodeAt(0) > 0x7f;

function unescapeString(raw: string): string {
  return raw.replace(
    /\\(\r\n|[\s\S])/g,
    (_, c: string) =>
      c === "\n" || c === "\r\n"
        ? ""
        : ({ n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "0": "\0" } as Record<
          string,
          string
        >)[c] ?? c,
  );
}

/** Splits TypeScript source into tokens, dropping comments and whitespace. */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const n = source.length;
  let i = source.startsWith("#!") ? source.indexOf("\n") : 0;
  if (i < 0) return tokens;
  let line = 1;
  let depth = 0;
  /** Brace depth at each open `${`, innermost last. */
  const substitutions: number[] = [];

  const countLines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (source.charCodeAt(k) === 10) line++;
  };

  /** Reads template text from `start` up to the closing backtick or the next `${`. */
  const readTemplate = (start: number, head: boolean): void => {
    const startLine = line;
    let j = start;
    while (j < n) {
      const c = source[j];
      if (c === "\\") j += 2;
      else if (c === "`") {
        countLines(start, j);
        tokens.push({
          kind: "template",
          value: head ? unescapeString(source.slice(start, j)) : "",
          line: startLine,
        });
        i = j + 1;
        return;
      } else if (c === "$" && source[j + 1] === "{") {
        countLines(start, j);
        tokens.push({ kind: "punct", value: "${", line });
        substitutions.push(depth);
        i = j + 2;
        return;
      } else j++;
    }
    countLines(start, n);
    i = n; // unterminated: the rest is template text
  };

  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (prev === undefined) return true;
    if (prev.kind === "name") return BEFORE_EXPRESSION.has(prev.value);
    if (prev.kind === "punct") {
      return !(prev.value === ")" || prev.value === "]" || prev.value === "}");
    }
    return false;
  };

  /** The end of a regular expression literal starting at `start`, or -1. */
  const regexEnd = (start: number): number => {
    let inClass = false;
    for (let j = start + 1; j < n; j++) {
      const c = source[j];
      if (c === "\n" || c === "\r") return -1;
      if (c === "\\") j++;
      else if (c === "[") inClass = true;
      else if (c === "]") inClass = false;
      else if (c === "/" && !inClass) {
        j++;
        while (j < n && isNamePart(source[j]!)) j++;
        return j;
      }
    }
    return -1;
  };

  while (i < n) {
    const c = source[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (
      c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\uFEFF"
    ) {
      i++;
    } else if (c === "/" && source[i + 1] === "/") {
      const end = source.indexOf("\n", i);
      i = end < 0 ? n : end;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      countLines(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && source[j] !== c && source[j] !== "\n") j += source[j] === "\\" ? 2 : 1;
      tokens.push({ kind: "string", value: unescapeString(source.slice(i + 1, j)), line });
      countLines(i, j);
      i = source[j] === c ? j + 1 : j;
    } else if (c === "`") {
      readTemplate(i + 1, true);
    } else if (c === "}" && substitutions.length > 0 && substitutions.at(-1) === depth) {
      substitutions.pop();
      readTemplate(i + 1, false);
    } else if (isNameStart(c)) {
      let j = i + 1;
      while (j < n && isNamePart(source[j]!)) j++;
      tokens.push({ kind: "name", value: source.slice(i, j), line });
      i = j;
    } else if (/\d/.test(c) || (c === "." && /\d/.test(source[i + 1] ?? ""))) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(source[j]!)) {
        j += /[eE]/.test(source[j]!) && /[+-]/.test(source[j + 1] ?? "") ? 2 : 1;
      }
      tokens.push({ kind: "number", value: source.slice(i, j), line });
      i = j;
    } else if (c === "/" && regexAllowed() && regexEnd(i) > 0) {
      const end = regexEnd(i);
      tokens.push({ kind: "regex", value: source.slice(i, end), line });
      i = end;
    } else {
      if (c === "{") depth++;
      else if (c === "}") depth--;
      tokens.push({ kind: "punct", value: c, line });
      i++;
    }
  }
  return tokens;
}

// --- module scan ---------------------------------------------------------------

const isPunct = (token: Token | undefined, value: string): boolean =>
  token?.kind === "punct" && token.value === value;
const isName = (token: Token | undefined, value?: string): boolean =>
  token?.kind === "name" && (value === undefined || token.value === value);
const isSpecifier = (token: Token | undefined): token is Token =>
  token?.kind === "string" || (token?.kind === "template" && !token.value.includes("${"));

/**
 * Reads a `{ … }` list of import or export specifiers starting at `tokens[at]`
 * (the `{`). Returns the index after `}`, the names bound or exported
 * locally, and whether every entry was marked `type`; `-1` if it is not one.
 */

/** A re-export (`export … from "x"`) found at `arg`, the specifier's token. */
function reExport(arg: Token, typeOnly: boolean): ModuleReference {
  return { specifier: arg.value, line: arg.line, kind: "export", typeOnly, bindings: [] };
}

function readBraces(
  tokens: Token[],
  at: number,
  side: "local-first" | "local-last",
): { end: number; locals: string[]; allTypes: boolean } | null {
  const locals: string[] = [];
  let allTypes = true;
  let j = at + 1;
  while (!isPunct(tokens[j], "}")) {
    const entry: Token[] = [];
    while (tokens[j] !== undefined && !isPunct(tokens[j], ",") && !isPunct(tokens[j], "}")) {
      const token = tokens[j]!;
      if (token.kind !== "name" && token.kind !== "string") return null;
      entry.push(token);
      j++;
    }
    if (tokens[j] === undefined) return null;
    if (isPunct(tokens[j], ",")) j++;
    if (entry.length === 0) continue;
    let parts = entry;
    if (parts.length > 1 && isName(parts[0], "type")) parts = parts.slice(1);
    else allTypes = false;
    // `a`, `a as b`
    if (parts.length !== 1 && !(parts.length === 3 && isName(parts[1], "as"))) return null;
    const local = side === "local-first" ? parts[0]! : parts[parts.length - 1]!;
    locals.push(local.value);
  }
  return { end: j + 1, locals, allTypes: allTypes && locals.length > 0 };
}

/**
 * Finds every module specifier in TypeScript source: `import … from`,
 * `import "…"`, `export … from`, `import("…")` (literal specifiers only).
 * Comments, strings, template literals and regular expressions are skipped.
 *
 * @param source The module's text.
 * @returns Its references and its local `export { … }` names.
 */
export function scanModule(source: string): ModuleScan {
  const tokens = tokenize(source);
  const references: ModuleReference[] = [];
  const localExports: { name: string; line: number }[] = [];
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    if (token.kind !== "name" || (token.value !== "import" && token.value !== "export")) continue;
    if (isPunct(tokens[t - 1], ".")) continue; // a property named import/export
    let j = t + 1;
    if (token.value === "import") {
      if (isPunct(tokens[j], "(")) {
        const arg = tokens[j + 1];
        if (isSpecifier(arg)) {
          references.push({
            specifier: arg.value,
            line: arg.line,
            kind: "dynamic",
            typeOnly: false,
            bindings: [],
          });
        }
        continue;
      }
      if (isSpecifier(tokens[j])) { // import "./side_effect.ts"
        const arg = tokens[j]!;
        references.push({
          specifier: arg.value,
          line: arg.line,
          kind: "import",
          typeOnly: false,
          bindings: [],
        });
        continue;
      }
      let typeOnly = false;
      if (
        isName(tokens[j], "type") && !isPunct(tokens[j + 1], ",") &&
        !(isName(tokens[j + 1], "from") && isSpecifier(tokens[j + 2]))
      ) {
        typeOnly = true;
        j++;
      }
      const bindings: string[] = [];
      let named: boolean | null = null; // whether all named entries were `type`
      let hasDefault = false;
      let ok = true;
      while (ok && !(isName(tokens[j], "from") && isSpecifier(tokens[j + 1]))) {
        const current = tokens[j];
        if (isPunct(current, "{")) {
          const list = readBraces(tokens, j, "local-last");
          if (list === null) ok = false;
          else {
            bindings.push(...list.locals);
            named = list.allTypes;
            j = list.end;
          }
        } else if (isPunct(current, "*") && isName(tokens[j + 1], "as") && isName(tokens[j + 2])) {
          bindings.push(tokens[j + 2]!.value);
          hasDefault = true;
          j += 3;
        } else if (isName(current) && current!.value !== "from") {
          bindings.push(current!.value);
          hasDefault = true;
          j++;
        } else if (isName(current, "from")) {
          bindings.push("from"); // a default import named `from`
          hasDefault = true;
          j++;
        } else ok = false;
        if (ok && isPunct(tokens[j], ",")) j++;
      }
      if (!ok) continue; // not an import declaration (`import x = require()`, ...)
      const arg = tokens[j + 1]!;
      references.push({
        specifier: arg.value,
        line: arg.line,
        kind: "import",
        typeOnly: typeOnly || (named === true && !hasDefault),
        bindings,
      });
      t = j + 1;
      continue;
    }
    // export
    let typeOnly = false;
    if (isName(tokens[j], "type") && (isPunct(tokens[j + 1], "{") || isPunct(tokens[j + 1], "*"))) {
      typeOnly = true;
      j++;
    }
    if (isPunct(tokens[j], "*")) {
      j++;
      if (isName(tokens[j], "as")) j += 2;
      if (isName(tokens[j], "from") && isSpecifier(tokens[j + 1])) {
        references.push(reExport(tokens[j + 1]!, typeOnly));
        t = j + 1;
      }
    } else if (isPunct(tokens[j], "{")) {
      const list = readBraces(tokens, j, "local-first");
      if (list === null) continue;
      j = list.end;
      if (isName(tokens[j], "from") && isSpecifier(tokens[j + 1])) {
        references.push(reExport(tokens[j + 1]!, typeOnly || list.allTypes));
        t = j + 1;
      } else {
        for (const name of list.locals) localExports.push({ name, line: token.line });
        t = j - 1;
      }
    }
  }
  return { references, localExports };
}

// --- rules ---------------------------------------------------------------------

/** The layered folders, bottom to top; `mod.ts` and `testing.ts` sit above them. */
const LAYERS = ["engine", "framing", "transport", "channels", "websocket"] as const;
const ENTRY_POINTS = ["mod.ts", "testing.ts"] as const;
const LAYER_RULE =
  "layers: engine <- framing <- transport <- channels <- websocket <- mod.ts, testing.ts";
const WASM_RULE = "wasm/ imports only wasm/; only framing/ imports wasm/";

type Area = (typeof LAYERS)[number] | "wasm" | "entry" | "tests" | "bench" | "examples" | "other";

function areaOf(path: string): Area {
  if ((ENTRY_POINTS as readonly string[]).includes(path)) return "entry";
  const top = path.split("/")[0]!;
  if ((LAYERS as readonly string[]).includes(top)) return top as Area;
  if (top === "wasm" || top === "tests" || top === "bench" || top === "examples") return top;
  return "other";
}

function layerOf(area: Area): number {
  return area === "entry" ? LAYERS.length : (LAYERS as readonly string[]).indexOf(area);
}

const describeArea = (area: Area, path: string): string => area === "entry" ? path : `${area}/`;

const isInternal = (path: string): boolean => posix.basename(path).startsWith("_");

/** The repository path a relative specifier names, or `null` for a package specifier. */
function resolveSpecifier(from: string, specifier: string): string | null {
  if (!/^\.\.?(\/|$)/.test(specifier)) return null;
  const clean = specifier.replace(/[?#].*$/, "");
  return posix.normalize(posix.join(posix.dirname(from), clean));
}

interface Edge {
  from: string;
  to: string;
  reference: ModuleReference;
}

/**
 * Checks the rules on a set of modules given as text.
 *
 * @param files Module text by repository path (`/`-separated, relative to the root).
 * @returns One line per violation, sorted; empty if there is none.
 */
export function checkSources(files: ReadonlyMap<string, string>): string[] {
  const violations = new Set<string>();
  const at = ({ from, reference: { line, kind, specifier } }: Edge): string =>
    `${from}:${line}: ${
      kind === "dynamic"
        ? `import("${specifier}")`
        : `${kind === "export" ? "export from" : "import"} "${specifier}"`
    }`;
  /** Graph edges between checked files, first reference per pair. */
  const graph = new Map<string, Map<string, Edge & { typeOnly: boolean }>>();

  for (const [from, source] of files) {
    const fromArea = areaOf(from);
    const scan = scanModule(source);
    const targets = new Map<string, Edge & { typeOnly: boolean }>();
    graph.set(from, targets);
    const internalBindings = new Set<string>();
    for (const reference of scan.references) {
      const to = resolveSpecifier(from, reference.specifier);
      if (to === null) continue;
      const edge: Edge = { from, to, reference };
      const toArea = areaOf(to);

      if (files.has(to)) {
        const known = targets.get(to);
        if (known === undefined) targets.set(to, { ...edge, typeOnly: reference.typeOnly });
        else known.typeOnly &&= reference.typeOnly;
      }

      if (to.startsWith("../") || to === "..") {
        violations.add(`${at(edge)} leaves the package (rule: source imports only source files)`);
      } else if (toArea === "tests" || toArea === "bench" || toArea === "examples") {
        violations.add(
          `${
            at(edge)
          } reaches into ${toArea}/ (rule: source never imports tests/, bench/ or examples/)`,
        );
      } else if (toArea === "other" || (toArea === "wasm" && to.startsWith("wasm/assembly/"))) {
        violations.add(
          `${at(edge)}: ${to} is not a source file (rule: source imports only source files)`,
        );
      } else if (fromArea === "wasm" && toArea !== "wasm") {
        violations.add(
          `${at(edge)}: wasm/ must not import ${describeArea(toArea, to)} (rule: ${WASM_RULE})`,
        );
      } else if (toArea === "wasm" && fromArea !== "wasm" && fromArea !== "framing") {
        violations.add(
          `${at(edge)}: ${describeArea(fromArea, from)} must not import wasm/ (rule: ${WASM_RULE})`,
        );
      } else if (layerOf(toArea) > layerOf(fromArea)) {
        violations.add(
          `${at(edge)}: ${describeArea(fromArea, from)} must not import ${
            describeArea(toArea, to)
          }, a higher layer (rule: ${LAYER_RULE})`,
        );
      }

      if (isInternal(to)) {
        if (from === "mod.ts") {
          violations.add(
            `${
              at(edge)
            }: mod.ts must not name the internal file ${to} (rule: the public entry points expose no _ file)`,
          );
        } else if (from === "testing.ts") {
          if (reference.kind === "export") {
            violations.add(
              `${
                at(edge)
              }: testing.ts must not re-export from the internal file ${to} (rule: the public entry points expose no _ file)`,
            );
          } else reference.bindings.forEach((name) => internalBindings.add(name));
        }
      }
    }
    if (from === "testing.ts") {
      for (const { name, line } of scan.localExports) {
        if (internalBindings.has(name)) {
          violations.add(
            `${from}:${line}: export { ${name} }: testing.ts must not re-export a symbol imported from an internal file (rule: the public entry points expose no _ file)`,
          );
        }
      }
    }
  }

  for (const cycle of findCycles(graph)) {
    const first = graph.get(cycle[0]!)!.get(cycle[1]!)!;
    let path = cycle[0]!;
    for (let k = 1; k < cycle.length; k++) {
      const edge = graph.get(cycle[k - 1]!)!.get(cycle[k]!)!;
      path += ` -> ${edge.typeOnly ? "(type) " : ""}${cycle[k]}`;
    }
    violations.add(
      `${
        at(first)
      } closes an import cycle: ${path} (rule: no import cycles, type-only imports count)`,
    );
  }
  return [...violations].sort(byFileAndLine);
}

function byFileAndLine(a: string, b: string): number {
  const [fileA, lineA] = a.split(":", 2);
  const [fileB, lineB] = b.split(":", 2);
  if (fileA !== fileB) return fileA! < fileB! ? -1 : 1;
  return Number(lineA) - Number(lineB) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The cycles of a graph: within each strongly connected component, the
 * shortest cycle through each of its files, deduplicated. Each cycle starts
 * and ends at its alphabetically first file.
 */
function findCycles(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

  const cycles = new Map<string, string[]>();
  for (const component of components) {
    const members = new Set(component);
    if (component.length === 1 && !graph.get(component[0]!)?.has(component[0]!)) continue;
    for (const start of [...members].sort()) {
      // Breadth-first search for the shortest way back to `start`.
      const parent = new Map<string, string>();
      const queue = [start];
      let found = false;
      for (let q = 0; q < queue.length && !found; q++) {
        const v = queue[q]!;
        for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
          if (!members.has(w)) continue;
          if (w === start) {
            parent.set(start, v);
            found = true;
            break;
          }
          if (!parent.has(w)) {
            parent.set(w, v);
            queue.push(w);
          }
        }
      }
      const ring: string[] = [];
      let v = parent.get(start)!;
      while (v !== start) {
        ring.unshift(v);
        v = parent.get(v)!;
      }
      ring.unshift(start);
      // Rotate to the alphabetically first file, so each cycle is found once.
      const first = ring.indexOf([...ring].sort()[0]!);
      const rotated = [...ring.slice(first), ...ring.slice(0, first)];
      cycles.set(rotated.join("\n"), [...rotated, rotated[0]!]);
    }
  }
  return [...cycles.values()];
}

// --- files ---------------------------------------------------------------------

/** The folders checked (with their subfolders), besides the entry points. */
const SOURCE_FOLDERS = ["engine", "framing", "transport", "channels", "websocket", "wasm"];
/** Subfolders not checked: AssemblyScript, compiled to WASM, not imported by TypeScript. */
const SKIPPED = ["wasm/assembly"];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function collectFolder(
  root: string,
  folder: string,
  into: Map<string, string>,
): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(posix.join(root, folder))) entries.push(entry);
  for (const entry of entries) {
    const path = `${folder}/${entry.name}`;
    if (SKIPPED.includes(path)) continue;
    if (entry.isDirectory) await collectFolder(root, path, into);
    else if (entry.isFile && entry.name.endsWith(".ts")) {
      into.set(path, await Deno.readTextFile(posix.join(root, path)));
    }
  }
}

/**
 * Reads the modules the checker covers under `root`.
 *
 * @param root The repository root.
 * @returns Module text by repository path.
 */
export async function readSources(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const folder of SOURCE_FOLDERS) {
    if (await exists(posix.join(root, folder))) await collectFolder(root, folder, files);
  }
  for (const entry of ENTRY_POINTS) {
    const path = posix.join(root, entry);
    if (await exists(path)) files.set(entry, await Deno.readTextFile(path));
  }
  return files;
}

/**
 * Checks the import rules (see the module doc) on the repository at `root`.
 *
 * @example Usage
 * ```ts ignore
 * import { checkImports } from "./check_imports.ts";
 *
 * for (const line of await checkImports(".")) console.error(line);
 * ```
 *
 * @param root The repository root.
 * @returns One line per violation, sorted; empty if there is none.
 */
export async function checkImports(root: string): Promise<string[]> {
  return checkSources(await readSources(root));
}

if (import.meta.main) {
  const root = fileURLToPath(new URL("../", import.meta.url));
  const files = await readSources(root);
  const violations = checkSources(files);
  if (violations.length === 0) {
    console.log(`check:imports: ${files.size} files, no violations`);
  } else {
    for (const line of violations) console.error(line);
    console.error(
      `check:imports: ${files.size} files, ${violations.length} violation${
        violations.length === 1 ? "" : "s"
      }`,
    );
    Deno.exit(1);
  }
}
