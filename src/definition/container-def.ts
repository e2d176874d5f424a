// The serialisable definition of a container: an ordered list of plain-JSON operations, exactly what the builders
// recorded. The same value travels to the daemon later; nothing here touches the engine.

/** How a command's exit status is judged. */
export type ExpectedStatus = "SUCCESS" | "FAILURE" | "ANY";
export type PortProtocol = "TCP" | "UDP";
export type CacheSharing = "SHARED" | "PRIVATE" | "LOCKED";

export type ContainerOp =
  | { op: "from"; ref: string }
  | { op: "workdir"; path: string }
  | { op: "newFile"; path: string; contents: string; permissions: number }
  | { op: "env"; name: string; value: string }
  | { op: "unsetEnv"; name: string }
  | { op: "entrypoint"; args: string[]; keepDefaultArgs?: boolean }
  | { op: "defaultArgs"; args: string[] }
  | { op: "user"; user: string }
  | {
      op: "exec";
      args: string[];
      useEntrypoint: boolean;
      stdin?: string;
      expect: ExpectedStatus;
      /** Full root capabilities, no seccomp, no noNewPrivileges. Absent when false, so older digests stay put. */
      insecureRootCapabilities?: true;
    }
  | { op: "exposePort"; port: number; protocol: PortProtocol; description?: string; skipHealthcheck: boolean }
  | { op: "unexposePort"; port: number; protocol: PortProtocol }
  | { op: "bindService"; alias: string; service: ServiceDef }
  | { op: "mountCache"; path: string; volume: string; sharing: CacheSharing }
  | { op: "mountDirectory"; path: string; directory: HostDirectoryDef; readOnly: boolean }
  /** `withHealthcheck`: replaces the image's HEALTHCHECK; unset timings take the engine's defaults. */
  | ({ op: "healthcheck"; args: string[] } & HealthcheckTimings)
  /** `withoutHealthcheck`: no healthcheck command, not even the image's. */
  | { op: "unsetHealthcheck" };

/** A healthcheck's timings as `withHealthcheck` takes them; each field absent when not given. */
export interface HealthcheckTimings {
  /** Between the end of one try and the start of the next. */
  intervalMs?: number;
  /** One try's limit: a try still running then counts as failed. */
  timeoutMs?: number;
  /** Consecutive failed tries (after the start period) that make the service unhealthy. */
  retries?: number;
  /** Failures in this first stretch do not count towards `retries`. */
  startPeriodMs?: number;
}

/** `asService({ waitForLog })` as recorded: a regular-expression source and how many lines must match it. */
export interface LogWaitDef {
  pattern: string;
  times: number;
}

export interface ContainerDef {
  ops: ContainerOp[];
}

/** A host directory, identified by its path and a digest of its files' paths, sizes and mtimes. */
export interface HostDirectoryDef {
  hostPath: string;
  /** Filled in by the host adapter when the definition is evaluated. */
  contentDigest?: string;
}

export interface ContainerServiceDef {
  kind: "container";
  container: ContainerDef;
  args?: string[];
  useEntrypoint: boolean;
  hostname?: string;
  healthcheckTimeoutMs?: number;
  /** Ready only once this many stdout/stderr lines matched the pattern. Absent when unset, so older digests stay put. */
  waitForLog?: LogWaitDef;
  /** Full root capabilities, no seccomp, no noNewPrivileges. Absent when false, so older digests stay put. */
  insecureRootCapabilities?: true;
}

export interface HostServicePort {
  frontend: number;
  backend: number;
  protocol: PortProtocol;
}

export interface HostServiceDef {
  kind: "host";
  host: string;
  ports: HostServicePort[];
  hostname?: string;
}

export type ServiceDef = ContainerServiceDef | HostServiceDef;
