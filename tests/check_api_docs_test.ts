/** The API reference checker (tools/check_api_docs.ts), on small fixture references. */
import assert from "node:assert/strict";
import { checkReference, expectations } from "../tools/check_api_docs.ts";

const example = (title: string) => ({
  kind: "example",
  doc: `${title}\n\`\`\`ts\nconst x = 1;\n\`\`\``,
});

/** A class with an example, a method with one, and a getter/setter pair with the example on the setter. */
const WIDGET = {
  name: "Widget",
  declarations: [{
    kind: "class",
    jsDoc: { doc: "A widget.", tags: [example("Making a widget")] },
    def: {
      methods: [
        { name: "spin", kind: "method", jsDoc: { tags: [example("Spinning it")] } },
        { name: "size", kind: "getter", jsDoc: { doc: "The size." } },
        { name: "size", kind: "setter", jsDoc: { tags: [example("Resizing it")] } },
        { name: "create", kind: "method", isStatic: true, jsDoc: { tags: [example("A factory")] } },
      ],
    },
  }],
};

async function withPages(
  pages: Record<string, string>,
  body: (dir: string) => void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "check_api_docs_" });
  try {
    await Deno.mkdir(`${dir}/~`);
    for (const [name, html] of Object.entries(pages)) {
      await Deno.writeTextFile(`${dir}/${name}`, html);
    }
    body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("expectations name each symbol's page and its members' pages with their example titles", () => {
  const { pages, withoutExample, problems } = expectations([WIDGET], "~/");
  assert.deepEqual(pages, [
    { page: "~/Widget.html", symbol: "Widget", examples: ["Making a widget"] },
    { page: "~/Widget.prototype.spin.html", symbol: "Widget.spin", examples: ["Spinning it"] },
    { page: "~/Widget.prototype.size.html", symbol: "Widget.size", examples: ["Resizing it"] },
    { page: "~/Widget.create.html", symbol: "Widget.create", examples: ["A factory"] },
  ]);
  assert.deepEqual(withoutExample, []);
  assert.deepEqual(problems, []);
});

Deno.test("expectations report a symbol without an example and a getter example deno doc cannot show", () => {
  const bare = {
    name: "Bare",
    declarations: [{ kind: "function", jsDoc: { doc: "No example." } }],
  };
  const hidden = structuredClone(WIDGET);
  hidden.declarations[0]!.def.methods[1]!.jsDoc = {
    doc: "The size.",
    tags: [example("Lost")],
  } as never;
  const { withoutExample, problems } = expectations([bare, hidden], "~/");
  assert.deepEqual(withoutExample, ["Bare"]);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^Widget\.size: the getter's @example is not rendered/);
});

Deno.test("checkReference passes a reference that shows every page and example", async () => {
  await withPages({
    "~/Widget.html": "<h3>Making a widget</h3>",
    "~/Widget.prototype.spin.html": "<h3>Spinning it</h3>",
    "~/Widget.prototype.size.html": "<h3>Resizing it</h3>",
    "~/Widget.create.html": "<h3>A factory</h3>",
  }, (dir) => {
    assert.deepEqual(checkReference(dir, new Map([["~/", [WIDGET]]])), []);
  });
});

Deno.test("checkReference names a missing page and a missing example", async () => {
  await withPages({
    "~/Widget.html": "<h3>Making a widget</h3>",
    "~/Widget.prototype.spin.html": "<h3>Something else</h3>",
    "~/Widget.prototype.size.html": "<h3>Resizing it</h3>",
  }, (dir) => {
    assert.deepEqual(checkReference(dir, new Map([["~/", [WIDGET]]])), [
      'Widget.spin: example "Spinning it" missing on ~/Widget.prototype.spin.html',
      "Widget.create: no page ~/Widget.create.html",
    ]);
  });
});
