// svcd's own gRPC API (protos/svcd/v1/engine.proto), loaded at run time into a protobufjs Root like containerd's
// (ProtoRegistry: proto-loader's serialisation, without the descriptor protos its loadSync builds, which cost a new
// client process ~25 ms before its first call); its TypeScript types are generated from the same file (npm run gen →
// src/daemon/gen).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { EngineUnavailableError } from "../common/errors.js";
import { ProtoRegistry } from "../containerd/index.js";
import type { ProtoGrpcType } from "./gen/engine.js";

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

/** The Engine service's client constructor (its `.service`: the method definitions a server adds). */
export type EngineService = ProtoGrpcType["svcd"]["v1"]["Engine"];

let api: EngineService | undefined;

export function svcdEngine(): EngineService {
  if (!api) {
    const methods = new ProtoRegistry(join(packageRoot(), "protos"), "svcd").service("svcd.v1.Engine");
    api = grpc.makeClientConstructor(methods, "svcd.v1.Engine") as unknown as EngineService;
  }
  return api;
}

let version: string | undefined;

/** svcd's version, from its package.json. */
export function svcdVersion(): string {
  version ??= String((JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: unknown }).version ?? "0.0.0");
  return version;
}
