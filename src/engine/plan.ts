// Folds a container definition over its image's config into a plan: the filesystem steps in order (each with the
// config in force when it runs), the final config, mounts and bindings. Pure: no I/O.
import { InvalidArgumentError } from "../common/errors.js";
import {
  resolveContainerPath,
  type CacheSharing,
  type ContainerDef,
  type ExpectedStatus,
  type HostDirectoryDef,
  type PortProtocol,
  type ServiceDef,
} from "../definition/index.js";
import type { OciHealthcheck } from "../image/index.js";
import { definedHealthcheck, imageHealthcheck, type PlannedHealthcheck } from "./healthcheck-config.js";

/** The parts of an OCI image config a plan starts from. */
export interface BaseConfig {
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Healthcheck?: OciHealthcheck;
}

export interface ExposedPort {
  port: number;
  protocol: PortProtocol;
  description?: string;
  skipHealthcheck: boolean;
}

export type PlannedMount =
  | { kind: "cache"; path: string; volume: string; sharing: CacheSharing }
  | { kind: "directory"; path: string; directory: HostDirectoryDef; readOnly: boolean };

export interface PlannedBinding {
  alias: string;
  service: ServiceDef;
}

/** The config a process runs with (and the image config of the result). */
export interface RunConfig {
  env: string[];
  workdir: string;
  user: string;
  entrypoint: string[];
  defaultArgs: string[];
}

export type PlannedStep =
  | { kind: "newFile"; path: string; contents: string; permissions: number }
  | {
      kind: "exec";
      /** The full argv (entrypoint prepended when asked). */
      args: string[];
      stdin?: string;
      expect: ExpectedStatus;
      config: RunConfig;
      mounts: PlannedMount[];
      bindings: PlannedBinding[];
      /** Run with the full root capability set and no seccomp filter. */
      insecureRootCapabilities?: true;
    };

export interface Plan {
  ref: string;
  steps: PlannedStep[];
  /** Index in `steps` of the last exec, or -1. */
  lastExec: number;
  config: RunConfig;
  exposedPorts: ExposedPort[];
  mounts: PlannedMount[];
  bindings: PlannedBinding[];
  /** The healthcheck command a service of this container runs: the image's, unless the definition said otherwise. */
  healthcheck?: PlannedHealthcheck;
  /**
   * What `withHealthcheck` / `withoutHealthcheck` chose ("none" for the latter), absent when neither was used: the
   * part that enters the container's digest (the image's own HEALTHCHECK is already in its manifest digest).
   */
  healthcheckOverride?: PlannedHealthcheck | "none";
}

/** The image reference a definition starts from (the first `from`), without needing its config yet. */
export function baseRef(def: ContainerDef): string {
  const from = [...def.ops].reverse().find((op) => op.op === "from");
  if (!from || from.op !== "from") throw new InvalidArgumentError("the container has no image: call from(ref) first");
  return from.ref;
}

function setEnv(env: string[], name: string, value: string | undefined): string[] {
  const out = env.filter((e) => e.split("=", 1)[0] !== name);
  if (value !== undefined) out.push(`${name}=${value}`);
  return out;
}

export function makePlan(def: ContainerDef, image: BaseConfig): Plan {
  const ref = baseRef(def);
  // A later from() starts over, as in Dagger: only what follows the last from() counts.
  let start = 0;
  def.ops.forEach((op, i) => {
    if (op.op === "from") start = i + 1;
  });
  const config: RunConfig = {
    env: [...(image.Env ?? [])],
    workdir: image.WorkingDir || "/",
    user: image.User ?? "",
    entrypoint: [...(image.Entrypoint ?? [])],
    defaultArgs: [...(image.Cmd ?? [])],
  };
  const steps: PlannedStep[] = [];
  let exposedPorts: ExposedPort[] = [];
  let mounts: PlannedMount[] = [];
  let bindings: PlannedBinding[] = [];
  let lastExec = -1;
  let healthcheckOverride: PlannedHealthcheck | "none" | undefined;

  for (const op of def.ops.slice(start)) {
    switch (op.op) {
      case "from":
        break;
      case "workdir":
        config.workdir = resolveContainerPath(op.path, config.workdir, "workdir");
        break;
      case "env":
        config.env = setEnv(config.env, op.name, op.value);
        break;
      case "unsetEnv":
        config.env = setEnv(config.env, op.name, undefined);
        break;
      case "entrypoint":
        config.entrypoint = [...op.args];
        // As with a Dockerfile's ENTRYPOINT (and Dagger), a new entrypoint drops the default args unless asked.
        if (!op.keepDefaultArgs) config.defaultArgs = [];
        break;
      case "defaultArgs":
        config.defaultArgs = [...op.args];
        break;
      case "user":
        config.user = op.user;
        break;
      case "newFile":
        steps.push({
          kind: "newFile",
          path: resolveContainerPath(op.path, config.workdir, "file path"),
          contents: op.contents,
          permissions: op.permissions,
        });
        break;
      case "exec": {
        let args = op.useEntrypoint ? [...config.entrypoint, ...op.args] : [...op.args];
        if (op.args.length === 0 && op.useEntrypoint) args = [...config.entrypoint, ...config.defaultArgs];
        if (args.length === 0) throw new InvalidArgumentError("withExec needs a command (the entrypoint is empty)");
        const step: PlannedStep = {
          kind: "exec",
          args,
          expect: op.expect,
          config: structuredClone(config),
          mounts: structuredClone(mounts),
          bindings: structuredClone(bindings),
        };
        if (op.stdin !== undefined) step.stdin = op.stdin;
        if (op.insecureRootCapabilities === true) step.insecureRootCapabilities = true;
        lastExec = steps.push(step) - 1;
        break;
      }
      case "exposePort": {
        exposedPorts = exposedPorts.filter((p) => !(p.port === op.port && p.protocol === op.protocol));
        const port: ExposedPort = { port: op.port, protocol: op.protocol, skipHealthcheck: op.skipHealthcheck };
        if (op.description !== undefined) port.description = op.description;
        exposedPorts.push(port);
        break;
      }
      case "unexposePort":
        exposedPorts = exposedPorts.filter((p) => !(p.port === op.port && p.protocol === op.protocol));
        break;
      case "bindService":
        bindings = [...bindings.filter((b) => b.alias !== op.alias), { alias: op.alias, service: op.service }];
        break;
      case "mountCache": {
        const path = resolveContainerPath(op.path, config.workdir, "mount path");
        mounts = [...mounts.filter((m) => m.path !== path), { kind: "cache", path, volume: op.volume, sharing: op.sharing }];
        break;
      }
      case "mountDirectory": {
        const path = resolveContainerPath(op.path, config.workdir, "mount path");
        mounts = [
          ...mounts.filter((m) => m.path !== path),
          { kind: "directory", path, directory: op.directory, readOnly: op.readOnly },
        ];
        break;
      }
      case "healthcheck": {
        const { op: _, args, ...timings } = op;
        healthcheckOverride = definedHealthcheck(args, timings);
        break;
      }
      case "unsetHealthcheck":
        healthcheckOverride = "none";
        break;
    }
  }
  const plan: Plan = { ref, steps, lastExec, config, exposedPorts, mounts, bindings };
  const healthcheck = healthcheckOverride === undefined ? imageHealthcheck(image.Healthcheck) : healthcheckOverride === "none" ? undefined : healthcheckOverride;
  if (healthcheck) plan.healthcheck = healthcheck;
  if (healthcheckOverride !== undefined) plan.healthcheckOverride = healthcheckOverride;
  return plan;
}
