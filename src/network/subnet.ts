// IPv4 subnet arithmetic for the hub network, pure: the gateway, the range host-local may hand out, and the reserved
// sub-range at the top of the subnet that IPAM never touches (host-service listeners of src/forward live there).
//
// Layout of a subnet N/p (8 ≤ p ≤ 28), with T = 2^(32-p) addresses and R = min(256, T/4) reserved at the top:
//   N+0            network address (unused)
//   N+1            gateway: the hub bridge's address
//   N+2 … N+T-R-1  IPAM range (host-local rangeStart … rangeEnd)
//   N+T-R          unused (keeps the reserved block from starting on a .0 in the default /16)
//   N+T-R+1 … N+T-2  reserved addresses: reservedAddress(0), reservedAddress(1), …
//   N+T-1          broadcast
import { InvalidArgumentError } from "../common/errors.js";

/** A parsed IPv4 subnet and the addresses derived from it. */
export interface SubnetPlan {
  /** Canonical CIDR, e.g. "10.87.0.0/16". */
  cidr: string;
  prefix: number;
  gateway: string;
  rangeStart: string;
  rangeEnd: string;
  /** How many reserved addresses exist (valid n for reservedAddress: 0 … reservedCount-1). */
  reservedCount: number;
  /** First address of the reserved block (itself unused), for formatting reserved addresses. */
  reservedBase: number;
}

/** Parses dotted-quad IPv4 to an unsigned 32-bit number, or undefined when malformed. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats an unsigned 32-bit number as dotted-quad IPv4. */
export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Validates an IPv4 CIDR (host bits zero, prefix 8…28) and derives gateway, IPAM range and reserved block. */
export function planSubnet(cidr: string): SubnetPlan {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr);
  const base = match ? parseIPv4(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (base === undefined || !Number.isInteger(prefix)) {
    throw new InvalidArgumentError(`subnet ${JSON.stringify(cidr)} is not an IPv4 CIDR like 10.87.0.0/16`);
  }
  if (prefix < 8 || prefix > 28) {
    throw new InvalidArgumentError(`subnet ${cidr}: prefix length must be between 8 and 28`);
  }
  const total = 2 ** (32 - prefix);
  if (base % total !== 0) {
    throw new InvalidArgumentError(`subnet ${cidr} has host bits set; did you mean ${formatIPv4(base - (base % total))}/${prefix}?`);
  }
  const reserved = Math.min(256, total / 4);
  const reservedBase = base + total - reserved;
  return {
    cidr: `${formatIPv4(base)}/${prefix}`,
    prefix,
    gateway: formatIPv4(base + 1),
    rangeStart: formatIPv4(base + 2),
    rangeEnd: formatIPv4(reservedBase - 1),
    reservedCount: reserved - 2,
    reservedBase,
  };
}

/** The n-th (0-based) reserved address of a plan; out of range is an InvalidArgumentError. */
export function reservedAddressOf(plan: SubnetPlan, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= plan.reservedCount) {
    throw new InvalidArgumentError(`reserved address index ${n} is outside 0…${plan.reservedCount - 1} of ${plan.cidr}`);
  }
  return formatIPv4(plan.reservedBase + 1 + n);
}
