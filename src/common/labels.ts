// Every label key svcd sets or reads on containerd objects, in one place.

/** containerd's own garbage-collection labels. */
export const GC = {
  root: "containerd.io/gc.root",
  expire: "containerd.io/gc.expire",
  /** Prefix; the full key is `containerd.io/gc.ref.content.<name>`. */
  refContent: "containerd.io/gc.ref.content.",
  /** Prefix; the full key is `containerd.io/gc.ref.snapshot.<snapshotter>`. */
  refSnapshot: "containerd.io/gc.ref.snapshot.",
  uncompressed: "containerd.io/uncompressed",
  distributionSource: "containerd.io/distribution.source.",
} as const;

/** Ownership labels on everything the engine creates, so that a later process can reap what a dead one left. */
export const OWNER = {
  session: "svcd.io/session",
  pid: "svcd.io/owner.pid",
  /** The owner's start time (clock ticks since boot, /proc/<pid>/stat field 22): a reused pid does not match. */
  startTime: "svcd.io/owner.start-time",
  kind: "svcd.io/kind",
} as const;

/** What a service container is, for `svc ps` / `svc stop` of any engine on the machine (read from containerd). */
export const SERVICE = {
  /** The service's hostname (content-addressed, or withHostname's). */
  hostname: "svcd.io/service.hostname",
  /** Its exposed ports: `8080/tcp,53/udp`. */
  ports: "svcd.io/service.ports",
  /** Its open `up` forwards, kept current by the engine that runs them: `127.0.0.1:9000->8080/tcp,…`. */
  up: "svcd.io/service.up",
} as const;

/** Build-cache labels on committed snapshots (Container API). */
export const CACHE = {
  digest: "svcd.io/cache.digest",
  exitCode: "svcd.io/cache.exit-code",
  /** When a session last used the step (ISO 8601), refreshed at most hourly: the GC's least-recent-use order. */
  lastUsed: "svcd.io/cache.last-used",
  /** Bytes of the step's filesystem diff, measured before its commit (so pruning needs no Usage calls). */
  size: "svcd.io/cache.size",
  /** Bytes of the exec's stored stdout + stderr. */
  outputBytes: "svcd.io/cache.output-bytes",
} as const;

export const SVCD_LABEL_PREFIX = "svcd.io/";
