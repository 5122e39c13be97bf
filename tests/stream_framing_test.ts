/**
 * How `readDelimiter` frames input, checked with an in-memory transport so
 * each write arrives as exactly one read: every split position is covered.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { type ReadDelimiter, Stream, type StreamBufferOverflow } from "../mod.ts";
import { attach, TestEngine } from "../testing.ts";
import { text, utf8 } from "./_helpers.ts";

type Setup = (stream: Recorder) => void;

class Recorder extends Stream {
  frames: unknown[] = [];
  overflows: StreamBufferOverflow[] = [];
  setup: Setup = () => {};
  onFrame: (stream: Recorder, frame: unknown) => void = () => {};

  override onConnect(): void {
    this.setup(this);
  }

  override onRead(...args: unknown[]): void {
    const frame = args.length === 1 ? args[0] : args;
    const kept = frame instanceof Uint8Array ? text(frame) : frame;
    this.frames.push(kept);
    this.onFrame(this, kept);
  }

  override onOverflowError(error: StreamBufferOverflow): void {
    this.overflows.push(error);
    this.close({ flush: false });
  }
}

/** Feeds `input` split into two writes at `split`, and returns the frames. */
async function framesOf(
  setup: Setup,
  chunks: readonly Uint8Array[],
  expectedFrames: number,
  onFrame?: (stream: Recorder, frame: unknown) => void,
): Promise<unknown[]> {
  await using engine = new TestEngine();
  const stream = new Recorder({ engine });
  stream.setup = setup;
  if (onFrame) stream.onFrame = onFrame;
  const peer = attach(stream);
  for (const chunk of chunks) await peer.send(chunk);
  ok(stream.frames.length >= expectedFrames || stream.closed, "the frames arrived");
  return stream.frames;
}

async function everySplit(
  delimiter: ReadDelimiter,
  input: string,
  expected: unknown[],
  configure: Setup = () => {},
): Promise<void> {
  const bytes = utf8(input);
  for (let split = 0; split <= bytes.length; split++) {
    const frames = await framesOf(
      (stream) => {
        configure(stream);
        stream.readDelimiter = delimiter;
      },
      [bytes.subarray(0, split), bytes.subarray(split)],
      expected.length,
    );
    deepStrictEqual(frames, expected, `split at ${split}`);
  }
}

Deno.test("Stream with a null delimiter delivers chunks as they arrive", async () => {
  const frames = await framesOf(() => {}, [utf8("one"), utf8("two")], 2);
  deepStrictEqual(frames, ["one", "two"]);
});

Deno.test("Stream splits on a one-byte string delimiter at every split position", async () => {
  await everySplit("\n", "ab\ncd\n\nef", ["ab", "cd", ""]);
});

Deno.test("Stream splits on a multi-byte delimiter split across reads", async () => {
  await everySplit("\r\n", "ab\r\ncd\r\n\r\nef", ["ab", "cd", ""]);
});

Deno.test("Stream splits on a Uint8Array delimiter", async () => {
  await everySplit(new Uint8Array([0x7c, 0x7c]), "a||b||", ["a", "b"]);
});

Deno.test("Stream with a number delimiter delivers fixed-size blocks", async () => {
  await everySplit(3, "abcdefgh", ["abc", "def"]);
});

Deno.test("Stream with a RegExp in search mode passes the input before each match", async () => {
  await everySplit(/\s*;/, "a ; b;c", ["a", " b"]);
});

Deno.test("Stream with a RegExp in match mode passes the match at the start", async () => {
  const input = "x=1\ny=22\n";
  const bytes = utf8(input);
  for (let split = 0; split <= bytes.length; split++) {
    const frames = await framesOf(
      (stream) => {
        stream.regexSearch = false;
        stream.readDelimiter = /(\w)=(\d+)\n/;
      },
      [bytes.subarray(0, split), bytes.subarray(split)],
      2,
    );
    deepStrictEqual(
      frames.map((match) => [...(match as RegExpExecArray)]),
      [["x=1\n", "x", "1"], ["y=22\n", "y", "22"]],
      `split at ${split}`,
    );
  }
});

Deno.test("Stream re-frames the rest of the buffer when onRead changes the delimiter", async () => {
  const input = utf8("LEN 5\nhelloLEN 2\nhi");
  for (let split = 0; split <= input.length; split++) {
    const frames = await framesOf(
      (stream) => (stream.readDelimiter = "\n"),
      [input.subarray(0, split), input.subarray(split)],
      4,
      (stream, frame) => {
        const line = frame as string;
        stream.readDelimiter = line.startsWith("LEN ") ? Number(line.slice(4)) : "\n";
      },
    );
    deepStrictEqual(frames, ["LEN 5", "hello", "LEN 2", "hi"], `split at ${split}`);
  }
});

Deno.test("Stream with utf-8 encoding never corrupts a character split across reads", async () => {
  await everySplit("\n", "héllo\n€ and 😀\n", ["héllo", "€ and 😀"], (stream) => {
    stream.encoding = "utf-8";
  });
  const bytes = utf8("😀€é");
  for (let split = 0; split <= bytes.length; split++) {
    const frames = await framesOf(
      (stream) => (stream.encoding = "utf-8"),
      [bytes.subarray(0, split), bytes.subarray(split)],
      split === 0 || split === bytes.length ? 1 : 2,
    );
    strictEqual((frames as string[]).join(""), "😀€é", `split at ${split}`);
  }
});

Deno.test("Stream with utf-8 encoding and a RegExp consumes whole characters", async () => {
  await everySplit(/;/, "é;€€;x", ["é", "€€"], (stream) => (stream.encoding = "utf-8"));
});

Deno.test("Stream reports overflow when no frame completes within bufferSize", async () => {
  await using engine = new TestEngine();
  const stream = new Recorder({ engine });
  stream.setup = (s) => {
    s.readDelimiter = "\n";
    s.bufferSize = 16;
  };
  const peer = attach(stream);
  await peer.send(utf8("short\n"));
  await peer.send(new Uint8Array(40).fill(0x61));
  ok(stream.closed, "the stream closed");
  const overflows = stream.overflows;
  deepStrictEqual(stream.frames, ["short"]);
  strictEqual(overflows.length, 1);
  strictEqual(overflows[0]!.limit, 16);
  ok(overflows[0]!.bytes >= 16);
});

Deno.test("Stream raises the limit for a block size larger than bufferSize", async () => {
  const frames = await framesOf(
    (stream) => {
      stream.bufferSize = 4;
      stream.readDelimiter = 10;
    },
    [utf8("0123456"), utf8("789")],
    1,
  );
  deepStrictEqual(frames, ["0123456789"]);
});

Deno.test("Stream.readDelimiter throws a TypeError for invalid values", () => {
  const stream = new Stream();
  throws(() => (stream.readDelimiter = ""), TypeError);
  throws(() => (stream.readDelimiter = 0), TypeError);
  throws(() => (stream.readDelimiter = 1.5), TypeError);
  throws(() => (stream.readDelimiter = {} as unknown as string), /Invalid readDelimiter/);
});

Deno.test("Stream.bufferSize throws a RangeError for non-positive values", () => {
  const stream = new Stream();
  throws(() => (stream.bufferSize = 0), RangeError);
});

Deno.test("Stream applies a regexSearch change made inside onRead to the rest of the buffer", async () => {
  const frames = await framesOf(
    (stream) => {
      stream.readDelimiter = /(\d+);/;
      stream.encoding = "utf-8";
    },
    [utf8("x1;2;3;")],
    3,
    (stream, frame) => {
      if (frame === "x") stream.regexSearch = false;
    },
  );
  strictEqual(frames[0], "x");
  deepStrictEqual([...(frames[1] as RegExpExecArray)], ["2;", "2"]);
  deepStrictEqual([...(frames[2] as RegExpExecArray)], ["3;", "3"]);
});

Deno.test("Stream delivers no frame after close() inside onRead and still sends the reply", async () => {
  await using engine = new TestEngine();
  const seen: string[] = [];
  class Quit extends Stream {
    override onConnect(): void {
      this.readDelimiter = "\n";
      this.encoding = "utf-8";
    }
    override onRead(line: string): void {
      seen.push(line);
      if (line === "a") {
        this.write("bye\n");
        this.close();
      }
    }
  }
  const peer = attach(new Quit({ engine }));
  await peer.send("a\nb\nc\n");
  deepStrictEqual(seen, ["a"]);
  strictEqual(await peer.received(), "bye\n");
});
