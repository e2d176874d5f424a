// Image references parsed and normalised the way Docker does (`python` → `docker.io/library/python:latest`), so
// that the same image has one name in containerd no matter how a caller spelled it.
import { InvalidArgumentError } from "../common/errors.js";

/** Docker Hub's canonical domain; `index.docker.io` is an alias of it. */
export const DOCKER_HUB = "docker.io";
const MAX_NAME_LENGTH = 255;

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]{1,5}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const ANONYMOUS_ID = /^[a-f0-9]{64}$/;

/** Hex lengths of the digest algorithms a registry may use; others are rejected. */
export const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/** A parsed, normalised image reference. */
export class Reference {
  /** Registry domain, e.g. `docker.io`, `ghcr.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/python`. */
  readonly path: string;
  /** Tag, `latest` when neither a tag nor a digest was given. */
  readonly tag: string | undefined;
  /** `algorithm:hex` when the reference pins content. */
  readonly digest: string | undefined;

  constructor(parts: { domain: string; path: string; tag?: string | undefined; digest?: string | undefined }) {
    this.domain = parts.domain;
    this.path = parts.path;
    this.tag = parts.tag;
    this.digest = parts.digest;
    Object.freeze(this);
  }

  /** `domain/path`: the repository's full name. */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  /** The short name Docker prints: `python`, `user/repo`, or the full name for other registries. */
  get familiarName(): string {
    if (this.domain !== DOCKER_HUB) return this.name;
    return this.path.startsWith("library/") && this.path.indexOf("/", 8) === -1 ? this.path.slice(8) : this.path;
  }

  /** The familiar name with its tag and digest (`python:latest`). */
  get familiarString(): string {
    return this.familiarName + this.suffix();
  }

  /** What a registry's manifest endpoint takes: the digest when pinned, else the tag. */
  get manifestReference(): string {
    return this.digest ?? this.tag ?? "latest";
  }

  /** The same repository pinned to a digest (tag kept), as containerd names a resolved image. */
  withDigest(digest: string): Reference {
    return new Reference({ domain: this.domain, path: this.path, tag: this.tag, digest: parseDigest(digest) });
  }

  /** The fully-qualified form: `docker.io/library/python:latest`, `host:5000/repo@sha256:…`. */
  toString(): string {
    return this.name + this.suffix();
  }

  private suffix(): string {
    return (this.tag !== undefined ? `:${this.tag}` : "") + (this.digest !== undefined ? `@${this.digest}` : "");
  }
}

// JSON-quoted (a newline or NUL cannot forge a log line) and cut short: a 4 KiB reference is not echoed whole.
function invalid(input: string, reason: string): InvalidArgumentError {
  const quoted = JSON.stringify(input);
  return new InvalidArgumentError(`invalid image reference ${quoted.length > 80 ? `${quoted.slice(0, 77)}...` : quoted}: ${reason}`);
}

/** Validates `algorithm:hex` (known algorithms with their exact hex length); returns it unchanged. */
export function parseDigest(value: string, input = value): string {
  const m = DIGEST.exec(value);
  if (!m) throw invalid(input, `malformed digest ${JSON.stringify(value)}`);
  const algorithm = m[1]!;
  const hex = m[2]!;
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) throw invalid(input, `unsupported digest algorithm ${JSON.stringify(algorithm)}`);
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw invalid(input, `digest ${algorithm} must be ${length} lowercase hex characters`);
  }
  return value;
}

function isDomain(part: string): boolean {
  return part.includes(".") || part.includes(":") || part === "localhost" || part !== part.toLowerCase();
}

function validateDomain(domain: string, input: string): void {
  const colon = domain.lastIndexOf(":");
  const host = colon === -1 ? domain : domain.slice(0, colon);
  if (colon !== -1) {
    const port = domain.slice(colon + 1);
    if (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535) throw invalid(input, `bad port in registry ${JSON.stringify(domain)}`);
  }
  if (host.startsWith("[")) throw invalid(input, "IPv6 registry addresses are not supported");
  for (const component of host.split(".")) {
    if (!DOMAIN_COMPONENT.test(component)) throw invalid(input, `bad registry host ${JSON.stringify(domain)}`);
  }
}

/**
 * Parses and normalises an image reference. Bare names go to Docker Hub under `library/`; a reference with neither
 * a tag nor a digest gets `latest`. Throws InvalidArgumentError naming the reason.
 */
export function parseReference(input: string): Reference {
  if (typeof input !== "string") throw new InvalidArgumentError(`image reference must be a string, got ${typeof input}`);
  if (input === "") throw invalid(input, "empty");
  if (/[\s\u0000-\u001f\u007f]/.test(input)) throw invalid(input, "contains whitespace or control characters");
  if (input.length > 4096) throw invalid(input, `too long (${input.length} characters, at most 4096)`);

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = parseDigest(rest.slice(at + 1), input);
    rest = rest.slice(0, at);
  }
  // A tag follows the last ':' that comes after the last '/' (an earlier ':' is a registry port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `bad tag ${JSON.stringify(tag)} (letters, digits, '_', '.', '-'; at most 128)`);
  }
  if (rest === "") throw invalid(input, "missing repository name");

  let domain = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash !== -1 && isDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    path = rest.slice(slash + 1);
    validateDomain(domain, input);
  }
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (path === "") throw invalid(input, "missing repository name");
  if (path !== path.toLowerCase()) throw invalid(input, "repository name must be lowercase");
  if (domain === DOCKER_HUB && !path.includes("/")) {
    if (ANONYMOUS_ID.test(path)) throw invalid(input, "a 64-character hex string is an image ID, not a name");
    path = `library/${path}`;
  }
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(input, `bad path component ${JSON.stringify(component)} (lowercase letters and digits, separated by '.', '_', '__' or '-')`);
    }
  }
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) throw invalid(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = "latest";
  return new Reference({ domain, path, tag, digest });
}
