// Loads protos/<tree>/**.proto at run time into one protobufjs Root (containerd's API, and svcd's own for the
// daemon): gRPC method definitions are made from it per service on first use, with proto-loader's serialisation
// exactly (fromObject → encode; decode → toObject with LOADER_OPTIONS), and it decodes Any payloads (events).
// proto-loader's loadSync is not used: it also builds descriptor protos for every message of every file, which cost a
// fresh process ~40 ms at connect (issue 13) and which nothing here reads. The protos are found relative to the
// package root, so this works from src/ (tsx) and from dist/ alike.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { MethodDefinition } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { EngineUnavailableError, InternalError } from "../common/errors.js";

/** proto-loader options the whole client relies on (snake_case keys, numbers for int64, enum names). */
export const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

/** The proto trees of the package: containerd's API, and svcd's own (the daemon's). */
export type ProtoTree = "containerd" | "svcd";

// Walks up from this module to the package root (the directory holding protos/<tree>).
function findProtosDir(tree: ProtoTree): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "protos");
    if (existsSync(join(candidate, tree))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new EngineUnavailableError(
    `svcd's protos/${tree} directory was not found above ${fileURLToPath(import.meta.url)}; the package is incomplete (reinstall svcd)`,
  );
}

function listProtos(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listProtos(root, full));
    else if (name.endsWith(".proto")) out.push(relative(root, full));
  }
  return out;
}

/** Encodes a request or response the way proto-loader's serializer does. */
function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new InternalError(`cannot serialise an array as ${type.name}`);
    const bytes = type.encode(type.fromObject(value)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Decodes the way proto-loader's deserializer does, with LOADER_OPTIONS. */
function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), LOADER_OPTIONS);
}

/** A grpc-js method definition (path, streaming flags, codecs); the message descriptors proto-loader adds are left out. */
function methodDefinition(serviceName: string, method: protobuf.Method): MethodDefinition<object, object> {
  method.resolve();
  const request = method.resolvedRequestType!;
  const response = method.resolvedResponseType!;
  return {
    path: `/${serviceName}/${method.name}`,
    requestStream: !!method.requestStream,
    responseStream: !!method.responseStream,
    requestSerialize: serializer(request),
    requestDeserialize: deserializer(request),
    responseSerialize: serializer(response),
    responseDeserialize: deserializer(response),
    originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
  } as MethodDefinition<object, object>;
}

/** One service's methods, by proto method name. */
export type ServiceMethods = Record<string, MethodDefinition<object, object>>;

// Parsed once per process, protos directory and tree: the files are the package's own and do not change while it
// runs, and every client (the endpoint probe's, the engine's) used to parse them again (issue 13). Immutable data only.
const parsedRoots = new Map<string, protobuf.Root>();
const parsedServices = new WeakMap<protobuf.Root, Map<string, ServiceMethods>>();

function parse(protosDir: string, files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") || target.startsWith("/") ? target : join(protosDir, target));
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

/** A parsed API (containerd's by default): shared by every client copy that shares a channel. */
export class ProtoRegistry {
  readonly protosDir: string;
  readonly tree: ProtoTree;
  private root: protobuf.Root | undefined;

  constructor(protosDir?: string, tree: ProtoTree = "containerd") {
    this.tree = tree;
    this.protosDir = protosDir ?? findProtosDir(tree);
  }

  /** The methods of a service, e.g. "containerd.services.content.v1.Content". */
  service(fullName: string): ServiceMethods {
    const root = this.types();
    let services = parsedServices.get(root);
    if (!services) parsedServices.set(root, (services = new Map()));
    let methods = services.get(fullName);
    if (!methods) {
      const found = root.lookup(fullName);
      if (!(found instanceof protobuf.Service)) throw new InternalError(`service ${fullName} is not declared in ${this.protosDir}`);
      methods = {};
      for (const method of found.methodsArray) methods[method.name] = methodDefinition(fullName, method);
      services.set(fullName, methods);
    }
    return methods;
  }

  /** A protobufjs Root of the same files, for Any payloads. */
  types(): protobuf.Root {
    if (!this.root) {
      const key = join(this.protosDir, this.tree);
      let root = parsedRoots.get(key);
      if (!root) parsedRoots.set(key, (root = parse(this.protosDir, listProtos(this.protosDir, key))));
      this.root = root;
    }
    return this.root;
  }
}
