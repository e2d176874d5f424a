// `svc ps`: the services, their session, state, ports and `up` forwards, image and uptime (DESIGN.md §7).
import { printText } from "../call/print-result.js";
import { serviceName, serviceSource, type ServiceEntry } from "../services.js";

export function uptime(createdAt: string | undefined, now = Date.now()): string {
  if (!createdAt) return "-";
  const s = Math.max(0, Math.floor((now - Date.parse(createdAt)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`;
}

/** Rows under a header, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join("").trimEnd()).join("\n");
}

export async function ps(opts: { json: boolean }): Promise<number> {
  const source = await serviceSource();
  const services = await source.list();
  if (opts.json) {
    printText(JSON.stringify(services.map((s) => ({ name: serviceName(s), ...s }))));
    return 0;
  }
  const rows = services.map((s: ServiceEntry) => [s.hostname, s.session || "-", s.state, s.ports.join(",") || "-", s.up.join(",") || "-", s.image, uptime(s.createdAt)]);
  printText(table(["HOSTNAME", "SESSION", "STATE", "PORTS", "UP", "IMAGE", "UPTIME"], rows));
  return 0;
}
