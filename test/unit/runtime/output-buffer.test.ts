import { test } from "uvu";
import * as assert from "uvu/assert";
import { OutputBuffer } from "../../../src/runtime/output-buffer.js";

test("keeps everything under the cap", () => {
  const b = new OutputBuffer(10);
  b.push(Buffer.from("abc"));
  b.push(Buffer.from("def"));
  assert.is(b.contents().toString(), "abcdef");
  assert.is(b.truncated, false);
  assert.is(b.total, 6);
});

test("keeps the tail when over the cap", () => {
  const b = new OutputBuffer(5);
  for (const s of ["abc", "def", "gh", "ij"]) b.push(Buffer.from(s));
  assert.is(b.contents().toString(), "fghij");
  assert.is(b.truncated, true);
  assert.is(b.total, 10);
});

test("a single chunk larger than the cap", () => {
  const b = new OutputBuffer(4);
  b.push(Buffer.from("0123456789"));
  assert.is(b.contents().toString(), "6789");
  b.push(Buffer.from("ab"));
  assert.is(b.contents().toString(), "89ab");
});

test("many small chunks stay bounded", () => {
  const b = new OutputBuffer(100);
  let all = "";
  for (let i = 0; i < 1000; i++) {
    const s = String(i % 10);
    all += s;
    b.push(Buffer.from(s));
  }
  assert.is(b.contents().toString(), all.slice(-100));
  assert.ok((b as unknown as { kept: number }).kept <= 101);
});

test("cap 0 keeps nothing but counts", () => {
  const b = new OutputBuffer(0);
  b.push(Buffer.from("xyz"));
  assert.is(b.contents().length, 0);
  assert.is(b.total, 3);
  assert.is(b.truncated, true);
});

test("rejects a bad cap", () => {
  assert.throws(() => new OutputBuffer(-1));
});

test.run();
