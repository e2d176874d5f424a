// Test helper: loads our protos and containerd's upstream protos with protobufjs and lists every way ours differ.
// Ours may declare a subset (fewer messages, fields, methods); whatever we declare must match upstream exactly.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";

const UPSTREAM_IMPORT_PREFIX = "github.com/containerd/containerd/api/";

/** Every .proto file below dir, sorted. */
export function protoFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...protoFiles(full));
    else if (name.endsWith(".proto")) out.push(full);
  }
  return out;
}

/** Our protos: imports are relative to the protos/ root ("containerd/types/mount.proto"). */
export function loadOurs(protosRoot: string, files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target.startsWith("google/protobuf/")) return target; // bundled by protobufjs
    return target.startsWith("/") ? target : join(protosRoot, target);
  };
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

/**
 * containerd's protos, the counterparts of ours (same path below api/ as ours below protos/containerd/): imports are Go-style paths; gogoproto and containerd's fieldpath plugin are weak imports of
 * option extensions only, so they resolve to nowhere and protobufjs skips them (the options stay as plain entries).
 */
export function loadUpstream(apiDir: string, relFiles: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target.startsWith("google/protobuf/")) return target;
    if (target.startsWith(UPSTREAM_IMPORT_PREFIX)) return join(apiDir, target.slice(UPSTREAM_IMPORT_PREFIX.length));
    if (target.startsWith("/")) return target;
    return join("/nonexistent-weak-import", target);
  };
  const files = relFiles.map((rel) => join(apiDir, rel));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`no upstream counterpart for: ${missing.join(", ")}`);
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

function walk(ns: protobuf.NamespaceBase, visit: (obj: protobuf.ReflectionObject) => void): void {
  for (const obj of ns.nestedArray) {
    if (obj.fullName.startsWith(".google.")) continue;
    visit(obj);
    if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type || obj instanceof protobuf.Service) walk(obj, visit);
  }
}

function fieldType(f: protobuf.Field): string {
  return f.resolvedType ? f.resolvedType.fullName : f.type;
}

function describeField(f: protobuf.Field): string {
  const map = f instanceof protobuf.MapField ? `map<${f.keyType},` : "";
  const oneof = f.partOf && !f.partOf.name.startsWith("_") ? ` oneof ${f.partOf.name}` : "";
  return `${f.repeated ? "repeated " : ""}${map}${fieldType(f)}${map ? ">" : ""} = ${f.id}${oneof}`;
}

/** Differences between our declarations and upstream; empty when every declared item matches. */
export function compareRoots(ours: protobuf.Root, upstream: protobuf.Root): string[] {
  const problems: string[] = [];
  let checked = 0;
  walk(ours, (obj) => {
    const name = obj.fullName;
    const theirs = upstream.lookup(name);
    if (obj instanceof protobuf.Type) {
      if (!(theirs instanceof protobuf.Type)) return void problems.push(`message ${name}: not a message upstream`);
      for (const f of obj.fieldsArray) {
        checked++;
        const u = theirs.fields[f.name];
        if (!u) problems.push(`${name}.${f.name}: no such field upstream`);
        else if (describeField(f) !== describeField(u)) {
          problems.push(`${name}.${f.name}: ours "${describeField(f)}", upstream "${describeField(u)}"`);
        }
      }
    } else if (obj instanceof protobuf.Enum) {
      if (!(theirs instanceof protobuf.Enum)) return void problems.push(`enum ${name}: not an enum upstream`);
      for (const [key, value] of Object.entries(obj.values)) {
        checked++;
        if (theirs.values[key] !== value) problems.push(`${name}.${key}: ours ${value}, upstream ${theirs.values[key]}`);
      }
    } else if (obj instanceof protobuf.Service) {
      if (!(theirs instanceof protobuf.Service)) return void problems.push(`service ${name}: not a service upstream`);
      for (const m of obj.methodsArray) {
        checked++;
        const u = theirs.methods[m.name];
        const sig = (x: protobuf.Method) =>
          `(${x.requestStream ? "stream " : ""}${x.resolvedRequestType?.fullName}) returns (${x.responseStream ? "stream " : ""}${x.resolvedResponseType?.fullName})`;
        if (!u) problems.push(`${name}.${m.name}: no such method upstream`);
        else if (sig(m) !== sig(u)) problems.push(`${name}.${m.name}: ours ${sig(m)}, upstream ${sig(u)}`);
      }
    }
  });
  if (checked === 0) problems.push("nothing was compared: no messages, enums or services found in our protos");
  return problems;
}

/** Where Debian's golang-github-containerd-containerd-dev installs the upstream protos. */
export const DEBIAN_UPSTREAM_API_DIR = "/usr/share/gocode/src/github.com/containerd/containerd/api";

export function upstreamAvailable(dir: string): boolean {
  return existsSync(join(dir, "services"));
}
