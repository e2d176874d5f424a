// Loads protos/containerd/**.proto at run time: proto-loader's definitions for gRPC calls, and a protobufjs Root
// for decoding Any payloads (events). The protos are found relative to the package root, so this works from
// src/ (tsx) and from dist/ alike.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSync, type MethodDefinition, type PackageDefinition } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { EngineUnavailableError, InternalError } from "../common/errors.js";

/** proto-loader options the whole client relies on (snake_case keys, numbers for int64, enum names). */
export const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

// Walks up from this module to the package root (the directory holding protos/containerd).
function findProtosDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "protos");
    if (existsSync(join(candidate, "containerd", "services"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new EngineUnavailableError(
    `svcd's protos/containerd directory was not found above ${fileURLToPath(import.meta.url)}; the package is incomplete (reinstall svcd)`,
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

/** One service's methods, by proto method name. */
export type ServiceMethods = Record<string, MethodDefinition<object, object>>;

/** The parsed containerd API: shared by every client copy that shares a channel. */
export class ProtoRegistry {
  readonly protosDir: string;
  private readonly files: string[];
  private definition: PackageDefinition | undefined;
  private root: protobuf.Root | undefined;

  constructor(protosDir: string = findProtosDir()) {
    this.protosDir = protosDir;
    this.files = listProtos(protosDir, join(protosDir, "containerd"));
  }

  /** The methods of a service, e.g. "containerd.services.content.v1.Content". */
  service(fullName: string): ServiceMethods {
    this.definition ??= loadSync(this.files, { ...LOADER_OPTIONS, includeDirs: [this.protosDir] });
    const def = this.definition[fullName];
    if (!def || typeof (def as { format?: unknown }).format === "string") {
      throw new InternalError(`service ${fullName} is not declared in ${this.protosDir}`);
    }
    return def as unknown as ServiceMethods;
  }

  /** A protobufjs Root of the same files, for Any payloads. */
  types(): protobuf.Root {
    if (!this.root) {
      const root = new protobuf.Root();
      const protosDir = this.protosDir;
      root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") || target.startsWith("/") ? target : join(protosDir, target));
      root.loadSync(this.files, { keepCase: true });
      root.resolveAll();
      this.root = root;
    }
    return this.root;
  }
}
