// Which manifest of a multi-platform index this host runs: linux/<arch>, with arm64 preferring variant v8.
import { InvalidArgumentError } from "../common/errors.js";

/** An OCI platform (the `platform` object of an index entry). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const NODE_TO_OCI_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
};

/** The platform of this process (`process.arch`): linux/amd64, linux/arm64/v8, … */
export function hostPlatform(arch: string = process.arch): Platform {
  const architecture = NODE_TO_OCI_ARCH[arch] ?? arch;
  if (architecture === "arm64") return { os: "linux", architecture, variant: "v8" };
  if (architecture === "arm") return { os: "linux", architecture, variant: "v7" };
  return { os: "linux", architecture };
}

/** Parses `os/arch[/variant]` (as `--platform` takes it). */
export function parsePlatform(spec: string): Platform {
  const parts = spec.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new InvalidArgumentError(`invalid platform ${JSON.stringify(spec)}: expected os/arch[/variant], e.g. linux/amd64`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  const arch = architecture === "aarch64" ? "arm64" : architecture === "x86_64" ? "amd64" : architecture;
  return variant === undefined ? { os, architecture: arch } : { os, architecture: arch, variant };
}

/** `os/arch[/variant]`, for messages. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * How well `candidate` matches `wanted`: 2 = exact (variant too), 1 = same os/arch with a missing or default
 * variant, 0 = no match. arm64 images often omit their `v8` variant.
 */
export function platformScore(candidate: Platform | undefined, wanted: Platform): number {
  if (!candidate) return 0;
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return 0;
  const want = wanted.variant ?? "";
  const have = candidate.variant ?? "";
  if (have === want) return 2;
  if (have === "" || want === "") return 1;
  return 0;
}

/** The best entry of an index for `wanted`, or undefined when none fits. */
export function selectPlatform<T extends { platform?: Platform | undefined }>(entries: readonly T[], wanted: Platform): T | undefined {
  let best: T | undefined;
  let bestScore = 0;
  for (const entry of entries) {
    const score = platformScore(entry.platform, wanted);
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  return best;
}
