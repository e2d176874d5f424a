// Whole-definition checks for definitions that did not come through the builders (the daemon's wire, a test's
// hand-made value): the same rules the builders apply at each call, so the engine can refuse a bad definition at its
// door, before anything is created. Known fields are checked; fields added by newer builders are left to their owners.
import { InvalidArgumentError } from "../common/errors.js";
import type { ContainerDef, ServiceDef } from "./container-def.js";
import { resolveContainerPath } from "./container-path.js";
import { assertHealthcheckArgs, assertLogWaitDef, healthcheckTimings } from "./readiness.js";
import { assertDialHost } from "../common/dial-host.js";
import {
  assertArgs,
  assertDnsLabel,
  assertEnvName,
  assertEnvValue,
  assertFileMode,
  assertId,
  assertInlineData,
  assertOneOf,
  assertOptionalBoolean,
  assertPort,
  assertString,
  assertVolumeName,
  quote,
} from "./validate.js";

/** How deeply services may bind services: deeper nesting is a hostile definition, not a real one. */
export const MAX_BINDING_DEPTH = 32;
const PROTOCOLS = ["TCP", "UDP"] as const;

function assertObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${what} must be an object`);
}

/** The builders record the flag as `true` or leave it out (false keeps digests): anything else is not theirs. */
function assertInsecureFlag(value: unknown, what: string): void {
  if (value !== undefined && value !== true) throw new InvalidArgumentError(`${what} ${quote(value)}: use true or leave it out`);
}

/** Throws InvalidArgumentError naming the first bad field of a container definition. */
export function assertContainerDef(def: unknown, what = "container definition", depth = 0): asserts def is ContainerDef {
  assertObject(def, what);
  if (!Array.isArray(def.ops)) throw new InvalidArgumentError(`${what}: ops must be an array`);
  let workdir = "/";
  def.ops.forEach((op: unknown, i: number) => {
    const at = `${what}: ops[${i}]`;
    assertObject(op, at);
    const path = (field: string) => resolveContainerPath(op[field], workdir, `${at}.${field}`);
    switch (op.op) {
      case "from":
        assertId(op.ref, `${at}.ref`, 4096);
        workdir = "/";
        break;
      case "workdir":
        workdir = path("path");
        break;
      case "newFile":
        path("path");
        assertInlineData(op.contents, `${at}.contents`);
        assertFileMode(op.permissions);
        break;
      case "env":
        assertEnvName(op.name);
        assertEnvValue(op.name, op.value);
        break;
      case "unsetEnv":
        assertEnvName(op.name);
        break;
      case "entrypoint":
      case "defaultArgs":
        assertArgs(op.args, `${at}.args`);
        assertOptionalBoolean(op.keepDefaultArgs, `${at}.keepDefaultArgs`);
        break;
      case "user":
        assertId(op.user, `${at}.user`, 256);
        if (/\s/.test(op.user)) throw new InvalidArgumentError(`${at}.user ${quote(op.user)} must not contain whitespace`);
        break;
      case "exec":
        assertArgs(op.args, `${at}.args`);
        assertOptionalBoolean(op.useEntrypoint, `${at}.useEntrypoint`);
        if (op.stdin !== undefined) assertInlineData(op.stdin, `${at}.stdin`);
        assertOneOf(op.expect, ["SUCCESS", "FAILURE", "ANY"], `${at}.expect`);
        assertInsecureFlag(op.insecureRootCapabilities, `${at}.insecureRootCapabilities`);
        break;
      case "exposePort":
      case "unexposePort":
        assertPort(op.port, `${at}.port`);
        assertOneOf(op.protocol, PROTOCOLS, `${at}.protocol`);
        if (op.description !== undefined) assertString(op.description, `${at}.description`);
        assertOptionalBoolean(op.skipHealthcheck, `${at}.skipHealthcheck`);
        break;
      case "bindService":
        assertDnsLabel(op.alias, "service alias");
        assertServiceDef(op.service, `${at}.service`, depth + 1);
        break;
      case "mountCache":
        path("path");
        assertVolumeName(op.volume);
        assertOneOf(op.sharing, ["SHARED", "PRIVATE", "LOCKED"], `${at}.sharing`);
        break;
      case "mountDirectory": {
        path("path");
        assertObject(op.directory, `${at}.directory`);
        const hostPath = op.directory.hostPath;
        assertString(hostPath, `${at}.directory.hostPath`);
        if (!hostPath.startsWith("/")) throw new InvalidArgumentError(`${at}.directory.hostPath ${quote(hostPath)} must be absolute`);
        assertOptionalBoolean(op.readOnly, `${at}.readOnly`);
        break;
      }
      case "healthcheck":
        assertHealthcheckArgs(op.args, `${at}.args`);
        healthcheckTimings(op, at); // reads only the timing fields
        break;
      case "unsetHealthcheck":
        break;
      default:
        throw new InvalidArgumentError(`${at}: unknown operation ${quote(op.op)}`);
    }
  });
}

/** Throws InvalidArgumentError naming the first bad field of a service definition (container or host). */
export function assertServiceDef(def: unknown, what = "service definition", depth = 0): asserts def is ServiceDef {
  if (depth > MAX_BINDING_DEPTH) throw new InvalidArgumentError(`${what}: services bind services more than ${MAX_BINDING_DEPTH} deep`);
  assertObject(def, what);
  if (def.hostname !== undefined) assertDnsLabel(def.hostname, "hostname");
  if (def.kind === "container") {
    assertContainerDef(def.container, `${what}.container`, depth);
    if (def.args !== undefined) assertArgs(def.args, `${what}.args`);
    assertOptionalBoolean(def.useEntrypoint, `${what}.useEntrypoint`);
    assertInsecureFlag(def.insecureRootCapabilities, `${what}.insecureRootCapabilities`);
    const timeout = def.healthcheckTimeoutMs;
    if (timeout !== undefined && (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout <= 0)) {
      throw new InvalidArgumentError(`${what}.healthcheckTimeoutMs ${quote(timeout)}: use a positive number of milliseconds`);
    }
    if (def.waitForLog !== undefined) assertLogWaitDef(def.waitForLog, `${what}.waitForLog`);
    return;
  }
  if (def.kind === "host") {
    assertDialHost(def.host);
    if (!Array.isArray(def.ports) || def.ports.length === 0) throw new InvalidArgumentError(`${what}.ports must list at least one port`);
    def.ports.forEach((p: unknown, i: number) => {
      assertObject(p, `${what}.ports[${i}]`);
      assertPort(p.frontend, "frontend port");
      assertPort(p.backend, "backend port");
      assertOneOf(p.protocol, PROTOCOLS, `${what}.ports[${i}].protocol`);
    });
    return;
  }
  throw new InvalidArgumentError(`${what}: unknown kind ${quote(def.kind)}`);
}
