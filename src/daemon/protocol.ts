// svcd's own gRPC API (protos/svcd/v1/engine.proto), loaded at run time by @grpc/proto-loader like containerd's;
// its TypeScript types are generated from the same file (npm run gen → src/daemon/gen).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { EngineUnavailableError } from "../common/errors.js";
import type { ProtoGrpcType } from "./gen/engine.js";

const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

/** Messages up to 64 MiB: readFile answers carry whole files. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** The package root: where protos/svcd and package.json are, from src/ (tsx) and from dist/ alike. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "protos", "svcd", "v1", "engine.proto"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new EngineUnavailableError(`svcd's protos/svcd directory was not found above ${fileURLToPath(import.meta.url)}; the package is incomplete (reinstall svcd)`);
}

let api: ProtoGrpcType | undefined;

export function svcdApi(): ProtoGrpcType {
  if (!api) {
    const root = packageRoot();
    const definition = loadSync("svcd/v1/engine.proto", { ...LOADER_OPTIONS, includeDirs: [join(root, "protos")] });
    api = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return api;
}

let version: string | undefined;

/** svcd's version, from its package.json. */
export function svcdVersion(): string {
  version ??= String((JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: unknown }).version ?? "0.0.0");
  return version;
}
