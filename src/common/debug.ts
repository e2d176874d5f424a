// Named debug channels: DEBUG=svcd:containerd,svcd:image (or svcd:*) prints lines for those layers to stderr.
import { format } from "node:util";

export type DebugFn = ((message: string, ...args: unknown[]) => void) & { enabled: boolean };

function enabledFor(channel: string, spec: string | undefined): boolean {
  if (!spec) return false;
  let on = false;
  for (const raw of spec.split(/[\s,]+/)) {
    if (!raw) continue;
    const negate = raw.startsWith("-");
    const pattern = negate ? raw.slice(1) : raw;
    const re = new RegExp("^" + pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");
    if (re.test(channel)) on = !negate;
  }
  return on;
}

/** A logger for `svcd:<layer>`; cheap when off. */
export function debug(layer: string): DebugFn {
  const channel = `svcd:${layer}`;
  const enabled = enabledFor(channel, process.env.DEBUG);
  const fn = ((message: string, ...args: unknown[]) => {
    if (!enabled) return;
    process.stderr.write(`${new Date().toISOString()} ${channel} ${format(message, ...args)}\n`);
  }) as DebugFn;
  fn.enabled = enabled;
  return fn;
}
