// The pure parts of logs(): splitting chunks into lines (a partial last line held, UTF-8 across chunk boundaries,
// over-long lines split the same however they arrive) and finding where the last N lines of a rotated log start.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { batchLines, LineSplitter, tailStart, type ReadAt } from "../../../../src/engine/services/log-lines.js";

const split = (chunks: (string | Buffer)[], max?: number) => {
  const s = new LineSplitter(max);
  const lines = chunks.flatMap((c) => s.push(typeof c === "string" ? Buffer.from(c) : c));
  return { lines, pending: s.pending, rest: s.end() };
};

test("lines end at \\n; a partial last line is held until it ends, or given by end()", () => {
  assert.equal(split(["a\nb", "c\n", "\n", "d"]), { lines: ["a", "bc", ""], pending: true, rest: ["d"] });
  assert.equal(split(["a\n"]), { lines: ["a"], pending: false, rest: [] });
  assert.equal(split([""]), { lines: [], pending: false, rest: [] });
  assert.equal(split(["x\r\n"]).lines, ["x\r"], "nothing but the \\n is taken off");
});

test("a character split across chunks is decoded whole; a cut one at the end becomes U+FFFD", () => {
  const bytes = Buffer.from("é€😀\n", "utf8");
  const chunks = [...bytes].map((b) => Buffer.from([b]));
  assert.equal(split(chunks).lines, ["é€😀"]);
  const cut = split([Buffer.from("ok\n"), bytes.subarray(0, 2)]);
  assert.equal(cut, { lines: ["ok"], pending: true, rest: ["é"] });
  assert.equal(split([Buffer.from([0x61, 0xe2, 0x82])]).rest, ["a\ufffd"]);
});

test("an over-long line is split into pieces from its start, whatever the chunking", () => {
  const line = "0123456789abcdef"; // 16 chars, limit 5: 5 + 5 + 5 + 1
  const pieces = ["01234", "56789", "abcde", "f"];
  assert.equal(split([line + "\n"], 5).lines, pieces);
  assert.equal(split([...line + "\n"], 5).lines, pieces, "one byte at a time");
  assert.equal(split([line.slice(0, 7), line.slice(7) + "\nz\n"], 5).lines, [...pieces, "z"]);
  assert.equal(split(["abcdefghij\n"], 5).lines, ["abcde", "fghij"], "an exact multiple leaves no empty piece");
  assert.equal(split([..."abcdefghij\n"], 5).lines, ["abcde", "fghij"]);
  // Held while unterminated: never more than the limit.
  const s = new LineSplitter(5);
  assert.equal(s.push(Buffer.from("x".repeat(23))), ["xxxxx", "xxxxx", "xxxxx", "xxxxx"]);
  assert.equal(s.end(), ["xxx"]);
  // A surrogate pair is never cut in two.
  assert.equal(split(["abcd😀e\n"], 5).lines, ["abcd", "😀e"]);
});

/** A log as its files, read as one sequence. */
const joined = (...files: string[]): { readAt: ReadAt; size: number; reads: number[] } => {
  const all = Buffer.from(files.join(""));
  const reads: number[] = [];
  return {
    size: all.length,
    reads,
    readAt: async (position, length) => {
      reads.push(position);
      return all.subarray(position, position + length);
    },
  };
};

const tail = async (n: number, chunk: number, ...files: string[]) => {
  const log = joined(...files);
  const at = await tailStart(log.readAt, log.size, n, chunk);
  return Buffer.from(files.join("")).subarray(at).toString();
};

test("tailStart: the last N lines, across the rotated part and the current file, any chunk size", async () => {
  for (const chunk of [1, 2, 3, 64 * 1024]) {
    assert.is(await tail(2, chunk, "a\nb\n", "c\nd\n"), "c\nd\n", `chunk ${chunk}`);
    assert.is(await tail(3, chunk, "a\nb\n", "c\nd\n"), "b\nc\nd\n", `across the files, chunk ${chunk}`);
    assert.is(await tail(9, chunk, "a\nb\n", "c\nd\n"), "a\nb\nc\nd\n", `more than there are, chunk ${chunk}`);
    assert.is(await tail(2, chunk, "a\nb\n", "c\nd"), "c\nd", `an unterminated last line counts as one, chunk ${chunk}`);
    assert.is(await tail(1, chunk, "a\n", "\n"), "\n", `an empty last line, chunk ${chunk}`);
    assert.is(await tail(1, chunk, "", "a\nb"), "b");
    assert.is(await tail(0, chunk, "a\n", "b\n"), "", "0: the end");
  }
  assert.is(await tail(2, 1, "", ""), "");
  // Backwards, and only as far as needed.
  const log = joined("x\n".repeat(1000), "y\n".repeat(1000));
  assert.is(await tailStart(log.readAt, log.size, 3, 16), log.size - 6);
  assert.equal(log.reads, [log.size - 16]);
});

test("batchLines keeps order and bounds each batch, a longer line alone", () => {
  assert.equal(batchLines(["aa", "bb", "cc"], 6), [["aa", "bb"], ["cc"]]);
  assert.equal(batchLines(["a", "long-line", "b"], 4), [["a"], ["long-line"], ["b"]]);
  assert.equal(batchLines([]), []);
});

test.run();
