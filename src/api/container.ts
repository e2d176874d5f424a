// `Container`: an immutable, lazy builder. Every `with*` returns a new Container holding one more operation;
// nothing reaches the engine until an evaluating call (`stdout()`, `sync()`, ...).
import { InvalidArgumentError } from "../common/errors.js";
import { parseReference } from "../image/index.js";
import {
  assertArgs,
  assertCallOptions,
  assertDnsLabel,
  assertEnvName,
  assertEnvValue,
  assertFileMode,
  assertHealthcheckArgs,
  assertInlineData,
  assertOneOf,
  assertOptionalBoolean,
  assertOptions,
  assertPort,
  assertString,
  builderWorkdir,
  healthcheckTimings,
  logWaitDef,
  quote,
  resolveContainerPath,
  type CallOptions,
  type CacheSharing,
  type ContainerDef,
  type ContainerOp,
  type ExpectedStatus,
  type HealthcheckTimings,
  type PortProtocol,
} from "../definition/index.js";
import { CacheVolume } from "./cache-volume.js";
import { Directory } from "./directory.js";
import { ContainerFile } from "./file.js";
import { Service } from "./service.js";
import type { EngineSource } from "./engine-source.js";

export interface WithNewFileOptions {
  /** Numeric file mode, default 0o644. */
  permissions?: number;
}

export interface WithExecOptions {
  /** Prepend the container's entrypoint to the command (default false, as in Dagger). */
  useEntrypoint?: boolean;
  /** Written to the command's standard input, which is then closed. */
  stdin?: string;
  /** Which exit statuses count as success: "SUCCESS" (0, default), "FAILURE" (non-zero) or "ANY". */
  expect?: ExpectedStatus;
  /** Run with the full root capability set and no seccomp filter (default false: the confinement defaults). */
  insecureRootCapabilities?: boolean;
}

export interface WithExposedPortOptions {
  /** Default "TCP". UDP ports are forwarded but never health-checked. */
  protocol?: PortProtocol;
  description?: string;
  /** Do not wait for this port to accept connections before clients run. */
  experimentalSkipHealthcheck?: boolean;
}

export interface AsServiceOptions {
  /** The service's command; default: the entrypoint followed by the default args. */
  args?: string[];
  /** Prepend the entrypoint to `args`. */
  useEntrypoint?: boolean;
  /** How long exposed TCP ports may take to accept connections (default 60 000 ms). */
  healthcheckTimeoutMs?: number;
  /** Run with the full root capability set and no seccomp filter (default false: the confinement defaults). */
  insecureRootCapabilities?: boolean;
  /**
   * Ready only once the service's output (stdout and stderr, line by line) matched this regular-expression source,
   * `times` lines in all (default 1). Counted from the service's start; `healthcheckTimeoutMs` bounds the wait.
   */
  waitForLog?: string | { pattern: string; times?: number };
}

/**
 * `withHealthcheck` timings, as Docker's HEALTHCHECK has them. The first try runs as soon as the service starts.
 * Defaults: intervalMs 1 000, timeoutMs 30 000, retries 3, startPeriodMs 0.
 */
export type WithHealthcheckOptions = HealthcheckTimings;

export interface WithMountedCacheOptions {
  /** "SHARED" (default): all users see one directory; "PRIVATE": a copy per concurrent user; "LOCKED": one at a time. */
  sharing?: CacheSharing;
}

export interface WithMountedDirectoryOptions {
  /** Default true: the container cannot change the host's files. */
  readOnly?: boolean;
}

const EXPECT: readonly ExpectedStatus[] = ["SUCCESS", "FAILURE", "ANY"];
const SHARING: readonly CacheSharing[] = ["SHARED", "PRIVATE", "LOCKED"];
const PROTOCOLS: readonly PortProtocol[] = ["TCP", "UDP"];

/** The `insecureRootCapabilities` option as the definition records it: `true`, or absent (false keeps digests). */
function insecureFlag(value: unknown): { insecureRootCapabilities?: true } {
  if (value !== undefined && typeof value !== "boolean") {
    throw new InvalidArgumentError(`insecureRootCapabilities must be a boolean, got ${typeof value}`);
  }
  return value === true ? { insecureRootCapabilities: true } : {};
}

export class Container {
  readonly #source: EngineSource;
  readonly #ops: readonly ContainerOp[];

  /** @internal Created by `client.container()`. */
  constructor(source: EngineSource, ops: readonly ContainerOp[] = []) {
    this.#source = source;
    this.#ops = ops;
  }

  /** The plain definition this container stands for (what travels to the engine). */
  definition(): ContainerDef {
    return structuredClone({ ops: [...this.#ops] });
  }

  #with(op: ContainerOp): Container {
    return new Container(this.#source, [...this.#ops, op]);
  }

  /** Rejects a path that climbs above `/` from the workdir set so far (the engine checks again with the image's). */
  #checkPath(path: unknown, what: string): asserts path is string {
    resolveContainerPath(path, builderWorkdir(this.#ops), what);
  }

  /** Starts from an image reference such as "python", "busybox:1.36" or "ghcr.io/org/app@sha256:...". */
  from(ref: string): Container {
    parseReference(ref); // validates; the reference is kept as spelled, so digests do not change
    return this.#with({ op: "from", ref });
  }

  /** Sets the working directory of later commands (relative paths resolve against the previous one). */
  withWorkdir(path: string): Container {
    this.#checkPath(path, "workdir");
    return this.#with({ op: "workdir", path });
  }

  /** Writes a file (relative paths resolve against the workdir); a build step of its own. */
  withNewFile(path: string, contents: string, options: WithNewFileOptions = {}): Container {
    this.#checkPath(path, "file path");
    assertInlineData(contents, `contents of ${quote(path)}`);
    assertOptions(options, "withNewFile options");
    const permissions = options.permissions ?? 0o644;
    assertFileMode(permissions);
    return this.#with({ op: "newFile", path, contents, permissions });
  }

  withEnvVariable(name: string, value: string): Container {
    assertEnvName(name);
    assertEnvValue(name, value);
    return this.#with({ op: "env", name, value });
  }

  withoutEnvVariable(name: string): Container {
    assertEnvName(name);
    return this.#with({ op: "unsetEnv", name });
  }

  /** Replaces the image's entrypoint; the default args are dropped unless `keepDefaultArgs`. */
  withEntrypoint(args: string[], options: { keepDefaultArgs?: boolean } = {}): Container {
    assertArgs(args, "entrypoint");
    assertOptions(options, "withEntrypoint options");
    assertOptionalBoolean(options.keepDefaultArgs, "keepDefaultArgs");
    return this.#with(options.keepDefaultArgs ? { op: "entrypoint", args: [...args], keepDefaultArgs: true } : { op: "entrypoint", args: [...args] });
  }

  /** Replaces the image's default arguments (its Cmd). */
  withDefaultArgs(args: string[]): Container {
    assertArgs(args, "default args");
    return this.#with({ op: "defaultArgs", args: [...args] });
  }

  /** Runs later commands as this user: "name", "uid", "uid:gid" or "name:group". */
  withUser(user: string): Container {
    assertString(user, "user");
    if (user === "" || /[\s\u0000-\u001f\u007f]/.test(user)) throw new InvalidArgumentError(`invalid user ${quote(user)}: use name, uid, name:group or uid:gid`);
    return this.#with({ op: "user", user });
  }

  /** Runs a command as a build step; its filesystem changes and output are cached by the chain's digest. */
  withExec(args: string[], options: WithExecOptions = {}): Container {
    assertArgs(args, "command");
    assertOptions(options, "withExec options");
    assertOptionalBoolean(options.useEntrypoint, "useEntrypoint");
    if (args.length === 0 && !options.useEntrypoint) throw new InvalidArgumentError("withExec needs a command");
    const expect = options.expect ?? "SUCCESS";
    assertOneOf(expect, EXPECT, "expect");
    if (options.stdin !== undefined) assertInlineData(options.stdin, "stdin");
    const insecure = insecureFlag(options.insecureRootCapabilities);
    const op: ContainerOp = { op: "exec", args: [...args], useEntrypoint: options.useEntrypoint ?? false, expect, ...insecure };
    if (options.stdin !== undefined) op.stdin = options.stdin;
    return this.#with(op);
  }

  /** Declares a port the container listens on; services wait for it and `up()` forwards it. */
  withExposedPort(port: number, options: WithExposedPortOptions = {}): Container {
    assertPort(port);
    assertOptions(options, "withExposedPort options");
    const protocol = options.protocol ?? "TCP";
    assertOneOf(protocol, PROTOCOLS, "protocol");
    assertOptionalBoolean(options.experimentalSkipHealthcheck, "experimentalSkipHealthcheck");
    if (options.description !== undefined) assertString(options.description, "port description");
    const op: ContainerOp = {
      op: "exposePort",
      port,
      protocol,
      skipHealthcheck: options.experimentalSkipHealthcheck ?? false,
    };
    if (options.description !== undefined) op.description = options.description;
    return this.#with(op);
  }

  withoutExposedPort(port: number, options: { protocol?: PortProtocol } = {}): Container {
    assertPort(port);
    assertOptions(options, "withoutExposedPort options");
    assertOneOf(options.protocol ?? "TCP", PROTOCOLS, "protocol");
    return this.#with({ op: "unexposePort", port, protocol: options.protocol ?? "TCP" });
  }

  /**
   * A command run inside the service (as its user, like `docker exec`) until it exits 0; the service is ready only
   * then. Replaces the image's own HEALTHCHECK. `retries` consecutive failures after the start period fail the start.
   */
  withHealthcheck(args: string[], options: WithHealthcheckOptions = {}): Container {
    assertHealthcheckArgs(args, "healthcheck command");
    return this.#with({ op: "healthcheck", args: [...args], ...healthcheckTimings(options, "withHealthcheck options") });
  }

  /** No healthcheck command, not even the image's HEALTHCHECK: readiness is the exposed ports (and waitForLog). */
  withoutHealthcheck(): Container {
    return this.#with({ op: "unsetHealthcheck" });
  }

  /** Mounts a cache volume: its contents outlive sessions and are not part of the container's digest. */
  withMountedCache(path: string, cache: CacheVolume, options: WithMountedCacheOptions = {}): Container {
    this.#checkPath(path, "mount path");
    // A look-alike object could carry any name: only a CacheVolume (its name checked when it was made) passes.
    if (!(cache instanceof CacheVolume)) throw new InvalidArgumentError("withMountedCache needs a CacheVolume (client.cacheVolume(name))");
    assertOptions(options, "withMountedCache options");
    const sharing = options.sharing ?? "SHARED";
    assertOneOf(sharing, SHARING, "sharing");
    return this.#with({ op: "mountCache", path, volume: cache.name, sharing });
  }

  /** Bind-mounts a host directory (live; read-only unless `readOnly: false`). */
  withMountedDirectory(path: string, directory: Directory, options: WithMountedDirectoryOptions = {}): Container {
    this.#checkPath(path, "mount path");
    if (!(directory instanceof Directory)) throw new InvalidArgumentError("withMountedDirectory needs a Directory (client.host().directory(path))");
    assertOptions(options, "withMountedDirectory options");
    assertOptionalBoolean(options.readOnly, "readOnly");
    return this.#with({
      op: "mountDirectory",
      path,
      directory: { hostPath: directory.hostPath },
      readOnly: options.readOnly ?? true,
    });
  }

  /** Binds a service: it starts (healthy) before commands of this container run, reachable as `alias`. */
  withServiceBinding(alias: string, service: Service): Container {
    assertDnsLabel(alias, "service alias");
    if (!(service instanceof Service)) throw new InvalidArgumentError("withServiceBinding needs a Service (container.asService())");
    return this.#with({ op: "bindService", alias, service: service.definition() });
  }

  /**
   * This container as a long-running service. Before clients run, every check configured must pass: its exposed TCP
   * ports accept connections, its healthcheck command succeeds, its output matched `waitForLog`.
   */
  asService(options: AsServiceOptions = {}): Service {
    assertOptions(options, "asService options");
    assertOptionalBoolean(options.useEntrypoint, "useEntrypoint");
    if (options.args !== undefined) assertArgs(options.args, "service args");
    const timeout = options.healthcheckTimeoutMs;
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) {
      throw new InvalidArgumentError(`invalid healthcheckTimeoutMs ${String(timeout)}: use a positive number of milliseconds`);
    }
    const insecure = insecureFlag(options.insecureRootCapabilities);
    const waitForLog = options.waitForLog !== undefined ? logWaitDef(options.waitForLog) : undefined;
    return new Service(this.#source, {
      kind: "container",
      container: this.definition(),
      ...(options.args !== undefined ? { args: [...options.args] } : {}),
      useEntrypoint: options.useEntrypoint ?? false,
      ...(timeout !== undefined ? { healthcheckTimeoutMs: timeout } : {}),
      ...(waitForLog ? { waitForLog } : {}),
      ...insecure,
    });
  }

  /** Evaluates every step; resolves to this container. */
  async sync(options: CallOptions = {}): Promise<Container> {
    assertCallOptions(options, "sync options");
    await this.#source.engine().then((e) => e.sync(this.definition(), options));
    return this;
  }

  /** The standard output of the last `withExec`. */
  async stdout(options: CallOptions = {}): Promise<string> {
    assertCallOptions(options, "stdout options");
    return (await this.#lastExec(options)).stdout;
  }

  /** The standard error of the last `withExec`. */
  async stderr(options: CallOptions = {}): Promise<string> {
    assertCallOptions(options, "stderr options");
    return (await this.#lastExec(options)).stderr;
  }

  /** The exit code of the last `withExec` (use `expect: "ANY"` to get a non-zero one without an ExecError). */
  async exitCode(options: CallOptions = {}): Promise<number> {
    assertCallOptions(options, "exitCode options");
    return (await this.#lastExec(options)).exitCode;
  }

  /** The canonical digest of this definition, with its image resolved to a manifest digest. */
  async digest(options: CallOptions = {}): Promise<string> {
    assertCallOptions(options, "digest options");
    return (await this.#source.engine()).digest(this.definition(), options);
  }

  /** A file of this container's filesystem, read lazily. */
  file(path: string): ContainerFile {
    this.#checkPath(path, "file path");
    return new ContainerFile(this.#source, this.definition(), path);
  }

  async #lastExec(options: CallOptions) {
    const result = await (await this.#source.engine()).sync(this.definition(), options);
    if (!result.lastExec) throw new InvalidArgumentError("no command has been run: add withExec() before stdout(), stderr() or exitCode()");
    return result.lastExec;
  }
}
