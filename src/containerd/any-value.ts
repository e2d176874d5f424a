// google.protobuf.Any as containerd uses it: JSON payloads under "types.containerd.io/..." type URLs (OCI spec,
// exec process) and protobuf payloads under the bare message name ("containerd.events.TaskExit").
import type protobuf from "protobufjs";
import { InvalidArgumentError } from "../common/errors.js";

/** Type URLs containerd (and `ctr`) expect for JSON-encoded OCI runtime documents. */
export const TYPE_URL = {
  spec: "types.containerd.io/opencontainers/runtime-spec/1/Spec",
  process: "types.containerd.io/opencontainers/runtime-spec/1/Process",
} as const;

/** An Any as proto-loader passes it on the wire. */
export interface AnyValue {
  type_url: string;
  value: Buffer;
}

/** Wraps a JSON-serialisable value (an OCI spec or process) in an Any with the given type URL. */
export function jsonAny(typeUrl: string, value: unknown): AnyValue {
  if (typeof typeUrl !== "string" || typeUrl === "") throw new InvalidArgumentError("jsonAny: type URL must be a non-empty string");
  const json = JSON.stringify(value);
  if (json === undefined) throw new InvalidArgumentError(`jsonAny(${typeUrl}): value is not JSON-serialisable`);
  return { type_url: typeUrl, value: Buffer.from(json, "utf8") };
}

/** A google.protobuf.Timestamp as Date (undefined when absent). */
export function timestampToDate(ts: { seconds?: number | string | null; nanos?: number | null } | null | undefined): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/**
 * Decodes an Any: JSON type URLs are parsed, protobuf payloads are looked up by message name in `root` and turned
 * into plain objects (snake_case keys, numbers for 64-bit ints, enum names). Unknown types give `{}`.
 */
export function decodeAny(root: protobuf.Root, any: { type_url?: string; value?: Uint8Array } | null | undefined): Record<string, unknown> {
  if (!any || !any.type_url) return {};
  const value = any.value ?? new Uint8Array();
  if (any.type_url.startsWith("types.containerd.io/")) {
    try {
      return JSON.parse(Buffer.from(value).toString("utf8")) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const name = any.type_url.slice(any.type_url.lastIndexOf("/") + 1);
  let type: protobuf.Type;
  try {
    type = root.lookupType(name);
  } catch {
    return {};
  }
  return type.toObject(type.decode(value), { longs: Number, enums: String, defaults: true, oneofs: true });
}
