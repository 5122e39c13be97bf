/**
 * The API reference checker: after `deno doc --html` wrote the reference,
 * it checks that every public symbol of `mod.ts` and `testing.ts` has its
 * page, and that every `@example` of the symbol and of its members appears
 * (by its title) on the page that documents it. `npm run docs:api` runs it
 * after the build, so CI fails on a reference that lost a symbol or an
 * example.
 *
 *     deno run --allow-read --allow-run tools/check_api_docs.ts docs/api
 *
 * The symbols and their examples come from `deno doc --json`, the same
 * source the HTML is built from. Pages: `~/Name.html` for `mod.ts`,
 * `testing/~/Name.html` for `testing.ts`; a member's example is on
 * `Name.prototype.member.html` (an instance member) or `Name.member.html`
 * (a static member, an interface property).
 *
 * @module
 */

/** A JSDoc block as `deno doc --json` gives it. */
interface JsDoc {
  doc?: string;
  tags?: { kind: string; doc?: string }[];
}

/** A class member, interface property or method in `deno doc --json`. */
interface Member {
  name: string;
  kind?: string;
  jsDoc?: JsDoc;
  isStatic?: boolean;
}

/** A symbol in `deno doc --json`. */
interface SymbolNode {
  name: string;
  declarations: {
    kind: string;
    jsDoc?: JsDoc;
    def?: {
      properties?: Member[];
      methods?: Member[];
      constructors?: Member[];
    };
  }[];
}

/** One expectation: a page, and the example titles it must show. */
export interface PageExpectation {
  /** The page, relative to the output folder. */
  page: string;
  /** The symbol (or `Symbol.member`) it documents. */
  symbol: string;
  /** Titles of the examples it must show. */
  examples: string[];
}

/** The title of an `@example` tag: its first line, before the code. */
function exampleTitles(doc: JsDoc | undefined): string[] {
  return (doc?.tags ?? [])
    .filter((tag) => tag.kind === "example")
    .map((tag) => (tag.doc ?? "").split("\n")[0]!.trim())
    .filter((title) => title !== "" && !title.startsWith("```"));
}

/** Whether a JSDoc block has at least one `@example`. */
function hasExample(doc: JsDoc | undefined): boolean {
  return (doc?.tags ?? []).some((tag) => tag.kind === "example");
}

/**
 * What the reference must hold for the symbols of one entry point.
 *
 * @param symbols The entry point's symbols from `deno doc --json`.
 * @param prefix The folder of its pages in the output (`"~/"` or `"testing/~/"`).
 * @returns The pages to check, the symbols that have no example at all,
 *   and examples the HTML cannot show.
 */
export function expectations(
  symbols: SymbolNode[],
  prefix: string,
): { pages: PageExpectation[]; withoutExample: string[]; problems: string[] } {
  const pages: PageExpectation[] = [];
  const withoutExample: string[] = [];
  const problems: string[] = [];
  for (const symbol of symbols) {
    // A re-export (testing.ts's ManualClock) is checked where it is declared.
    const declarations = symbol.declarations.filter((d) =>
      d.kind !== "import" && d.kind !== "reference"
    );
    if (declarations.length === 0) continue;
    const own = declarations.flatMap((d) => exampleTitles(d.jsDoc));
    if (!declarations.some((d) => hasExample(d.jsDoc))) withoutExample.push(symbol.name);
    pages.push({ page: `${prefix}${symbol.name}.html`, symbol: symbol.name, examples: own });
    for (const declaration of declarations) {
      const def = declaration.def ?? {};
      const instance = declaration.kind === "class";
      const setters = new Set(
        (def.methods ?? []).filter((m) => m.kind === "setter").map((m) => m.name),
      );
      for (const member of [...(def.properties ?? []), ...(def.methods ?? [])]) {
        const titles = exampleTitles(member.jsDoc);
        if (titles.length === 0) continue;
        // Of a getter/setter pair, `deno doc --html` shows the getter's JSDoc
        // on the class page only, without its examples; the member page shows
        // the setter's JSDoc.
        if (member.kind === "getter" && setters.has(member.name)) {
          problems.push(
            `${symbol.name}.${member.name}: the getter's @example is not rendered by ` +
              "deno doc --html; put it in the setter's JSDoc",
          );
          continue;
        }
        const path = instance && !member.isStatic
          ? `${symbol.name}.prototype.${member.name}`
          : `${symbol.name}.${member.name}`;
        pages.push({
          page: `${prefix}${path}.html`,
          symbol: `${symbol.name}.${member.name}`,
          examples: titles,
        });
      }
    }
  }
  return { pages, withoutExample, problems };
}

/** Undoes the HTML escapes the reference uses in text. */
function unescapeHtml(html: string): string {
  return html.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'").replace(/&amp;/g, "&");
}

/**
 * Checks a built reference.
 *
 * @param output The folder `deno doc --html` wrote.
 * @param symbolsByPrefix Each entry point's symbols, by its page folder.
 * @returns One line per problem; empty when the reference is complete.
 */
export function checkReference(
  output: string,
  symbolsByPrefix: Map<string, SymbolNode[]>,
): string[] {
  const problems: string[] = [];
  for (const [prefix, symbols] of symbolsByPrefix) {
    const { pages, withoutExample, problems: unshown } = expectations(symbols, prefix);
    problems.push(...unshown);
    for (const name of withoutExample) problems.push(`${name}: no @example in its JSDoc`);
    for (const { page, symbol, examples } of pages) {
      let html: string;
      try {
        html = unescapeHtml(Deno.readTextFileSync(`${output}/${page}`));
      } catch {
        problems.push(`${symbol}: no page ${page}`);
        continue;
      }
      for (const title of examples) {
        if (!html.includes(title)) {
          problems.push(`${symbol}: example "${title}" missing on ${page}`);
        }
      }
    }
  }
  return problems;
}

if (import.meta.main) {
  const output = Deno.args[0] ?? "docs/api";
  const json = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts", "testing.ts"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!json.success) Deno.exit(1);
  const { nodes } = JSON.parse(new TextDecoder().decode(json.stdout)) as {
    nodes: Record<string, { symbols: SymbolNode[] }>;
  };
  const byPrefix = new Map<string, SymbolNode[]>();
  for (const [file, node] of Object.entries(nodes)) {
    byPrefix.set(file.endsWith("/testing.ts") ? "testing/~/" : "~/", node.symbols);
  }
  const problems = checkReference(output, byPrefix);
  for (const problem of problems) console.error(problem);
  const count = [...byPrefix.values()].reduce((n, symbols) => n + symbols.length, 0);
  if (problems.length > 0) {
    console.error(`${problems.length} problem(s) in the API reference in ${output}`);
    Deno.exit(1);
  }
  console.log(`API reference in ${output}: ${count} symbols, each with its page and examples`);
}
