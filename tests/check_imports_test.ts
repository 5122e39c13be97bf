/** The import checker (tools/check_imports.ts), on small fixture trees. */
import assert from "node:assert/strict";
import { checkImports, checkSources, scanModule } from "../tools/check_imports.ts";

/** A fixture tree: module text by repository path. */
const tree = (files: Record<string, string>): Map<string, string> => new Map(Object.entries(files));

/** Writes `files` under a fresh temporary directory, runs `body` on it, and removes it. */
async function withTree(
  files: Record<string, string>,
  body: (root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "check_imports_" });
  try {
    for (const [path, text] of Object.entries(files)) {
      const file = `${root}/${path}`;
      await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(file, text);
    }
    await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** A well-layered tree: every rule holds. */
const CLEAN = {
  "engine/engine.ts": 'import { now } from "./clock.ts";\nexport class Engine {}\n',
  "engine/clock.ts": "export const now = (): number => 0;\n",
  "framing/_wasm_core.ts": 'import { scan } from "../wasm/framing.ts";\nexport { scan };\n',
  "framing/struct.ts":
    'import type { Engine } from "../engine/engine.ts";\nexport class Struct {}\n',
  "wasm/framing.ts":
    'import { BASE64 } from "./framing_wasm.generated.ts";\nexport const scan = 1;\n',
  "wasm/framing_wasm.generated.ts": 'export const BASE64 = "AGFzbQEAAAA=";\n',
  // AssemblyScript is not checked, whatever it imports.
  "wasm/assembly/scan.ts": 'import { layout } from "../../channels/stream.ts";\n',
  "transport/_socket.ts": 'import { now } from "../engine/clock.ts";\nexport const dial = 1;\n',
  "channels/stream.ts": [
    'import { Engine } from "../engine/engine.ts";',
    'import { Struct } from "../framing/struct.ts";',
    'import { dial } from "../transport/_socket.ts";',
    "export class Stream {}",
  ].join("\n"),
  "channels/server.ts": 'import { Stream } from "./stream.ts";\nexport class Server {}\n',
  "websocket/websocket_channel.ts": [
    'import { Stream } from "../channels/stream.ts";',
    'import { scan } from "../framing/_wasm_core.ts";',
    "export class WebSocketChannel extends Stream {}",
  ].join("\n"),
  "mod.ts": [
    'export { Engine } from "./engine/engine.ts";',
    'export { Stream } from "./channels/stream.ts";',
    'export * from "./channels/server.ts";',
    'export { WebSocketChannel } from "./websocket/websocket_channel.ts";',
  ].join("\n"),
  "testing.ts": [
    'import { Engine } from "./engine/engine.ts";',
    'import { dial } from "./transport/_socket.ts"; // the harness may use internals',
    "export class TestEngine extends Engine {}",
  ].join("\n"),
};

Deno.test("checkImports passes a clean tree", async () => {
  await withTree(CLEAN, async (root) => {
    assert.deepEqual(await checkImports(root), []);
  });
});

Deno.test("checkImports reports an import cycle with its path", async () => {
  await withTree({
    ...CLEAN,
    "engine/clock.ts": 'import { Timer } from "./timer.ts";\nexport const now = 0;\n',
    "engine/timer.ts": [
      'import type { EngineOptions } from "./engine.ts";',
      'import { Engine } from "./engine.ts";',
      "export class Timer {}",
    ].join("\n"),
  }, async (root) => {
    assert.deepEqual(await checkImports(root), [
      'engine/clock.ts:1: import "./timer.ts" closes an import cycle: ' +
      "engine/clock.ts -> engine/timer.ts -> engine/engine.ts -> engine/clock.ts " +
      "(rule: no import cycles, type-only imports count)",
    ]);
  });
});

Deno.test("checkSources reports an import cycle made only of type imports", () => {
  const violations = checkSources(tree({
    "channels/server.ts": 'import type { Stream } from "./stream.ts";',
    "channels/stream.ts": 'import { type Server } from "./server.ts";',
  }));
  assert.deepEqual(violations, [
    'channels/server.ts:1: import "./stream.ts" closes an import cycle: ' +
    "channels/server.ts -> (type) channels/stream.ts -> (type) channels/server.ts " +
    "(rule: no import cycles, type-only imports count)",
  ]);
});

Deno.test("checkSources reports a module that imports itself as a cycle", () => {
  const violations = checkSources(tree({ "engine/a.ts": 'export * from "./a.ts";' }));
  assert.equal(violations.length, 1);
  assert.match(violations[0]!, /engine\/a\.ts -> engine\/a\.ts/);
});

Deno.test("checkSources reports an upward import: engine importing channels", () => {
  const violations = checkSources(tree({
    "engine/engine.ts": '\nimport type { Stream } from "../channels/stream.ts";',
    "channels/stream.ts": "export class Stream {}",
  }));
  assert.deepEqual(violations, [
    'engine/engine.ts:2: import "../channels/stream.ts": engine/ must not import channels/, ' +
    "a higher layer (rule: layers: engine <- framing <- transport <- channels <- websocket <- mod.ts, testing.ts)",
  ]);
});

Deno.test("checkSources reports every upward step of the layers, and entry points from below", () => {
  const violations = checkSources(tree({
    "engine/engine.ts": 'import "../framing/struct.ts";',
    "framing/struct.ts": 'export type { Socket } from "../transport/_socket.ts";',
    "transport/_socket.ts": 'const lazy = () => import("../channels/stream.ts");',
    "channels/stream.ts": 'import { attach } from "../testing.ts";',
    "testing.ts": "export const attach = 1;",
  }));
  assert.deepEqual(violations.map((line) => line.split(":", 3).slice(0, 2).join(":")), [
    "channels/stream.ts:1",
    "engine/engine.ts:1",
    "framing/struct.ts:1",
    "transport/_socket.ts:1",
  ]);
  assert.match(violations[0]!, /channels\/ must not import testing\.ts/);
  assert.match(violations[3]!, /import\("\.\.\/channels\/stream\.ts"\): transport\/ must not/);
});

Deno.test("checkSources reports channels/ importing websocket/, the layer above it", () => {
  const violations = checkSources(tree({
    "channels/server.ts":
      'import type { WebSocketChannel } from "../websocket/websocket_channel.ts";',
    "websocket/websocket_channel.ts": "export class WebSocketChannel {}",
  }));
  assert.deepEqual(violations, [
    'channels/server.ts:1: import "../websocket/websocket_channel.ts": channels/ must not import ' +
    "websocket/, a higher layer (rule: layers: engine <- framing <- transport <- channels <- " +
    "websocket <- mod.ts, testing.ts)",
  ]);
});

Deno.test("checkSources reports wasm/ imported from channels/ and wasm/ importing framing/", () => {
  const violations = checkSources(tree({
    "channels/datagram.ts": 'import { scan } from "../wasm/framing.ts";',
    "wasm/framing.ts": 'import type { FrameRule } from "../framing/frame_rule.ts";',
    "framing/frame_rule.ts": "export type FrameRule = number;",
  }));
  assert.deepEqual(violations, [
    'channels/datagram.ts:1: import "../wasm/framing.ts": channels/ must not import wasm/ ' +
    "(rule: wasm/ imports only wasm/; only framing/ imports wasm/)",
    'wasm/framing.ts:1: import "../framing/frame_rule.ts": wasm/ must not import framing/ ' +
    "(rule: wasm/ imports only wasm/; only framing/ imports wasm/)",
  ]);
});

Deno.test("checkSources reports mod.ts naming an internal file", () => {
  const violations = checkSources(tree({
    "mod.ts":
      'export { Stream } from "./channels/stream.ts";\nimport type { X } from "./channels/_x.ts";',
    "channels/stream.ts": "export class Stream {}",
    "channels/_x.ts": "export type X = 1;",
  }));
  assert.deepEqual(violations, [
    'mod.ts:2: import "./channels/_x.ts": mod.ts must not name the internal file channels/_x.ts ' +
    "(rule: the public entry points expose no _ file)",
  ]);
});

Deno.test("checkSources lets testing.ts import internal files but not re-export them", () => {
  const violations = checkSources(tree({
    "testing.ts": [
      'import { adopt, begin } from "./channels/_symbols.ts";',
      'export { forget } from "./channels/_symbols.ts";',
      "export { adopt };",
    ].join("\n"),
    "channels/_symbols.ts": "export const adopt = 1, begin = 2, forget = 3;",
  }));
  assert.deepEqual(violations, [
    'testing.ts:2: export from "./channels/_symbols.ts": testing.ts must not re-export from ' +
    "the internal file channels/_symbols.ts (rule: the public entry points expose no _ file)",
    "testing.ts:3: export { adopt }: testing.ts must not re-export a symbol imported from " +
    "an internal file (rule: the public entry points expose no _ file)",
  ]);
});

Deno.test("checkSources reports source importing tests/, bench/, examples/ or other files", () => {
  const violations = checkSources(tree({
    "channels/stream.ts": [
      'import { until } from "../tests/_helpers.ts";',
      'import { run } from "../bench/soak.ts";',
      'import { Chat } from "../examples/chat.ts";',
      'import { check } from "../tools/check_imports.ts";',
      'import { x } from "../../elsewhere.ts";',
    ].join("\n"),
  }));
  assert.deepEqual(violations, [
    'channels/stream.ts:1: import "../tests/_helpers.ts" reaches into tests/ ' +
    "(rule: source never imports tests/, bench/ or examples/)",
    'channels/stream.ts:2: import "../bench/soak.ts" reaches into bench/ ' +
    "(rule: source never imports tests/, bench/ or examples/)",
    'channels/stream.ts:3: import "../examples/chat.ts" reaches into examples/ ' +
    "(rule: source never imports tests/, bench/ or examples/)",
    'channels/stream.ts:4: import "../tools/check_imports.ts": tools/check_imports.ts is not ' +
    "a source file (rule: source imports only source files)",
    'channels/stream.ts:5: import "../../elsewhere.ts" leaves the package ' +
    "(rule: source imports only source files)",
  ]);
});

Deno.test("checkSources ignores imports in comments, strings and regular expressions", () => {
  const source = [
    "/**",
    " * @example Usage",
    " * ```ts",
    ' * import { Stream } from "@pants/pants";',
    ' * import { Engine } from "../channels/stream.ts";',
    " * ```",
    " */",
    '// import "../channels/server.ts";',
    "/* An unfenced one:",
    ' * export { Datagram } from "../channels/datagram.ts"; */',
    "const a = \"import { x } from '../channels/a.ts'\";",
    'const b = `export * from "../channels/b.ts" ${\'${\'} import("../channels/c.ts")`;',
    'const c = /["\'`]import \\/ from "..\\/channels\\/d.ts"/g;',
    // Divisions are not regular expressions, and the other way round:
    'const d = total / count; import("./ok.ts"); const e = d / 2;',
    'const f = (total) / count; import("./ok2.ts"); const g = f[0] / 2;',
    'const h = /"/; import("./ok3.ts"); const i = /"/;',
  ].join("\n");
  assert.deepEqual(scanModule(source).references.map((r) => r.specifier), [
    "./ok.ts",
    "./ok2.ts",
    "./ok3.ts",
  ]);
  assert.deepEqual(checkSources(tree({ "engine/engine.ts": source })), []);
});

Deno.test("scanModule finds every form of import and export, with lines and type-only flags", () => {
  const source = [
    'import "./side_effect.ts";',
    'import Default, { a as b, type C } from "./named.ts";',
    'import * as ns from "./namespace.ts";',
    'import type { T } from "./types.ts";',
    'import { type U, type V } from "./inline_types.ts";',
    'export { x } from "./reexport.ts";',
    'export type { Y } from "./reexport_types.ts";',
    'export * as all from "./star.ts";',
    "type Lazy = typeof import(",
    '  "./lazy.ts"',
    ");",
    "const meta = import.meta.url;",
    "const obj = { import: 1 }; obj.import;",
    "export { Default, b };",
    "export const n = 1;",
  ].join("\n");
  const scan = scanModule(source);
  assert.deepEqual(
    scan.references.map(({ specifier, line, kind, typeOnly }) => [specifier, line, kind, typeOnly]),
    [
      ["./side_effect.ts", 1, "import", false],
      ["./named.ts", 2, "import", false],
      ["./namespace.ts", 3, "import", false],
      ["./types.ts", 4, "import", true],
      ["./inline_types.ts", 5, "import", true],
      ["./reexport.ts", 6, "export", false],
      ["./reexport_types.ts", 7, "export", true],
      ["./star.ts", 8, "export", false],
      ["./lazy.ts", 10, "dynamic", false],
    ],
  );
  assert.deepEqual(scan.references[1]!.bindings, ["Default", "b", "C"]);
  assert.deepEqual(scan.localExports, [{ name: "Default", line: 14 }, { name: "b", line: 14 }]);
});
