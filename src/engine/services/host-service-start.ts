// Starting one host service: a reserved hub address guarded by the session firewall, a listener per port tunnelled
// to the caller's host, and its names published. Any failure releases the address and closes what was opened.
import { randomBytes } from "node:crypto";
import { debug } from "../../common/debug.js";
import { throwIfAborted } from "../../common/errors.js";
import { assertDnsLabel, hostHash, type HostServiceDef } from "../../definition/index.js";
import { allocateReservedAddress } from "../../network/index.js";
import type { ServiceStartContext } from "./container-service-start.js";
import { RunningHostService } from "./running-host-service.js";

const log = debug("service");

export async function startHostService(ctx: ServiceStartContext, def: HostServiceDef, key: string, signal: AbortSignal): Promise<RunningHostService> {
  const { paths, runner, network, resources, sessionId } = ctx.deps;
  const hostname = def.hostname ?? hostHash(key);
  assertDnsLabel(hostname, "service hostname");
  const hub = await resources.hub();
  const agent = await ctx.deps.agent();
  throwIfAborted(signal);
  const reserved = await allocateReservedAddress(paths, runner, hub);
  // Only this session's containers may reach the listener (the hub firewall's input hook).
  let unguard: () => Promise<void>;
  try {
    unguard = await network.guard(reserved.ip);
  } catch (err) {
    await reserved.release();
    throw err;
  }
  const address = { ip: reserved.ip, release: async () => { await unguard().catch(() => {}); await reserved.release(); } };
  const id = `svcd-${hostHash(sessionId)}-host-${hostname.slice(0, 24)}-${randomBytes(4).toString("hex")}`;
  const service = await RunningHostService.start({
    key,
    hostname,
    id,
    def,
    address,
    agent,
    logs: ctx.openLogs(key, hostname, id),
    unpublish: () => network.unpublish(id),
    onTeardown: (finished) => ctx.track(id, finished),
  });
  try {
    throwIfAborted(signal);
    await network.publish(id, address.ip, [hostname, ctx.fullName(hostname)]);
  } catch (err) {
    await service.stop();
    await service.finished.catch(() => {});
    throw err;
  }
  log("%s: host service %s → %s", id, address.ip, def.host);
  return service;
}
