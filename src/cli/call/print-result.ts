// How `svc call` shows what a function returned (DESIGN.md §7): a string as it is, a list one item a line, a
// Container synced and shown as its digest, a Service as its hostname; `-j` prints JSON instead.
import { Container, Service } from "../../api/index.js";

/** A printable form of one value: text for the terminal, and the JSON value for `-j`. */
export interface Shown {
  text: string;
  json: unknown;
}

/** Evaluates what needs evaluating (a Container is synced) and renders the value. */
export async function show(value: unknown): Promise<Shown> {
  const v = await value;
  if (v === undefined || v === null) return { text: "", json: null };
  if (typeof v === "string") return { text: v, json: v };
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return { text: String(v), json: typeof v === "bigint" ? String(v) : v };
  if (v instanceof Container) {
    const digest = await v.sync().then((c) => c.digest());
    return { text: digest, json: { digest } };
  }
  if (v instanceof Service) {
    const hostname = await v.hostname();
    return { text: hostname, json: { hostname } };
  }
  if (Array.isArray(v)) {
    const items = await Promise.all(v.map(show));
    return { text: items.map((i) => i.text.replace(/\n$/, "")).join("\n"), json: items.map((i) => i.json) };
  }
  if (Buffer.isBuffer(v)) return { text: v.toString("utf8"), json: v.toString("base64") };
  return { text: JSON.stringify(v, null, 2), json: v };
}

/** Writes `text` with exactly one trailing newline (none for an empty result). */
export function printText(text: string, out: NodeJS.WritableStream = process.stdout): void {
  if (text === "") return;
  out.write(text.endsWith("\n") ? text : `${text}\n`);
}
