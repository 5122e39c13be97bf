import assert from "node:assert/strict";
import { ReferenceFramingCore } from "./_reference_core.ts";
import { framingCore, WasmFramingCore } from "../framing/_wasm_core.ts";
import { MAX_STAGED_FRAME, MIN_REGION_BYTES } from "../wasm/framing.ts";
import { framingCoreSpec } from "./_framing_core_spec.ts";

framingCoreSpec("ReferenceFramingCore", () => new ReferenceFramingCore());
framingCoreSpec("WasmFramingCore", () => new WasmFramingCore());

Deno.test("WasmFramingCore rebuilds its views after memory grows", () => {
  const core = new WasmFramingCore();
  const id = core.open();
  core.setRule(id, { kind: "fixed", size: 4 });
  core.append(id, new Uint8Array([1, 2, 3, 4]));
  const before = core.bytes(id);
  const frames = core.frames;
  core.append(id, new Uint8Array(4 << 20).fill(9));
  assert.equal(before.byteLength, 0, "growing memory detaches the old view");
  assert.equal(frames.length, 0);
  const bytes = core.bytes(id);
  assert.ok(bytes.byteLength > 4 << 20);
  assert.deepEqual([...bytes.subarray(core.base(id), core.base(id) + 5)], [1, 2, 3, 4, 9]);
  assert.equal(core.scan(id, 100), 1024);
  assert.deepEqual([...core.frames.subarray(0, 3)], [0, 4, 4]);
  core.close(id);
});

Deno.test("WasmFramingCore hands short frames out through one view per length, long ones as views of the region", () => {
  const core = new WasmFramingCore();
  const id = core.open();
  core.append(id, Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff));
  const bytes = core.bytes(id);
  const base = core.base(id);
  const first = core.frame(id, base, 10);
  assert.deepEqual([...first], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const second = core.frame(id, base + 20, 10);
  assert.equal(second, first, "the same view for the same length");
  assert.deepEqual([...second], [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  const long = core.frame(id, base + 100, MAX_STAGED_FRAME + 1);
  assert.equal(long.buffer, bytes.buffer);
  assert.equal(long.byteOffset, base + 100, "a long frame is a view of the region");
  assert.equal(long.length, MAX_STAGED_FRAME + 1);
  core.close(id);
});

Deno.test("WasmFramingCore stages frames from the new memory after it grows", () => {
  const core = new WasmFramingCore();
  const id = core.open();
  const other = core.open();
  core.append(id, new TextEncoder().encode("staged"));
  core.bytes(id);
  const before = core.frame(id, core.base(id), 6);
  core.append(other, new Uint8Array(4 << 20));
  assert.equal(before.length, 0, "growing memory detaches the old staged view");
  core.bytes(id);
  const after = core.frame(id, core.base(id), 6);
  assert.notEqual(after, before);
  assert.equal(new TextDecoder().decode(after), "staged");
  core.close(other);
  core.close(id);
});

Deno.test("WasmFramingCore appends a view of its own memory", () => {
  const core = new WasmFramingCore();
  const id = core.open();
  const other = core.open();
  core.append(id, new TextEncoder().encode("copied"));
  core.append(other, new Uint8Array(1 << 21));
  core.consume(other, 1 << 21);
  const view = core.bytes(id).subarray(core.base(id), core.base(id) + 6);
  core.append(other, view);
  core.append(other, new Uint8Array(8 << 20));
  const base = core.base(other);
  assert.equal(new TextDecoder().decode(core.bytes(other).subarray(base, base + 6)), "copied");
  core.close(id);
  core.close(other);
});

Deno.test("WasmFramingCore instances have memories of their own", () => {
  const one = new WasmFramingCore();
  const two = new WasmFramingCore();
  const id = one.open();
  assert.equal(one.liveRegions, 1);
  assert.equal(two.liveRegions, 0);
  assert.equal(one.liveBytes, MIN_REGION_BYTES);
  assert.notEqual(one.bytes(id).buffer, two.bytes(two.open()).buffer);
});

Deno.test("framingCore is a shared WasmFramingCore", () => {
  assert.ok(framingCore instanceof WasmFramingCore);
  const regions = framingCore.liveRegions;
  const id = framingCore.open();
  assert.equal(framingCore.liveRegions, regions + 1);
  framingCore.close(id);
  assert.equal(framingCore.liveRegions, regions);
});
