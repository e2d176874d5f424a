// Subnet planning: gateway, IPAM range and the reserved block never overlap, and bad CIDRs are rejected.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatIPv4, parseIPv4, planSubnet, reservedAddressOf } from "../../../src/network/subnet.js";
import { SvcdError } from "../../../src/common/errors.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return SvcdError.is(err) ? err.code : `not-svcd: ${String(err)}`;
  }
}

test("the default /16 keeps its last /24 for reserved addresses", () => {
  const plan = planSubnet("10.87.0.0/16");
  assert.is(plan.cidr, "10.87.0.0/16");
  assert.is(plan.gateway, "10.87.0.1");
  assert.is(plan.rangeStart, "10.87.0.2");
  assert.is(plan.rangeEnd, "10.87.254.255");
  assert.is(plan.reservedCount, 254);
  assert.is(reservedAddressOf(plan, 0), "10.87.255.1");
  assert.is(reservedAddressOf(plan, 253), "10.87.255.254");
});

test("a /24 reserves its top quarter", () => {
  const plan = planSubnet("10.89.3.0/24");
  assert.is(plan.gateway, "10.89.3.1");
  assert.is(plan.rangeEnd, "10.89.3.191");
  assert.is(reservedAddressOf(plan, 0), "10.89.3.193");
  assert.is(reservedAddressOf(plan, plan.reservedCount - 1), "10.89.3.254");
});

test("reserved addresses never fall inside the IPAM range, for every allowed prefix", () => {
  for (let prefix = 8; prefix <= 28; prefix++) {
    const plan = planSubnet(`10.0.0.0/${prefix}`);
    const end = parseIPv4(plan.rangeEnd)!;
    const first = parseIPv4(reservedAddressOf(plan, 0))!;
    const last = parseIPv4(reservedAddressOf(plan, plan.reservedCount - 1))!;
    const broadcast = parseIPv4("10.0.0.0")! + 2 ** (32 - prefix) - 1;
    assert.ok(first > end, `/${prefix}`);
    assert.ok(last < broadcast, `/${prefix}`);
    assert.ok(parseIPv4(plan.rangeStart)! <= end, `/${prefix} has a usable range`);
  }
});

test("out-of-range reserved indexes are rejected", () => {
  const plan = planSubnet("10.89.3.0/24");
  assert.is(codeOf(() => reservedAddressOf(plan, -1)), "INVALID_ARGUMENT");
  assert.is(codeOf(() => reservedAddressOf(plan, plan.reservedCount)), "INVALID_ARGUMENT");
  assert.is(codeOf(() => reservedAddressOf(plan, 1.5)), "INVALID_ARGUMENT");
});

test("malformed subnets are InvalidArgumentError", () => {
  for (const bad of ["10.87.0.0", "10.87.0.0/33", "10.87.0.0/7", "10.87.0.0/29", "10.87.0.1/16", "300.1.0.0/16", "10.87.0.0/16\n", "01.2.3.0/24", "fe80::/64", ""]) {
    assert.is(codeOf(() => planSubnet(bad)), "INVALID_ARGUMENT", JSON.stringify(bad));
  }
});

test("IPv4 parse/format round-trips", () => {
  for (const ip of ["0.0.0.0", "10.87.255.254", "255.255.255.255"]) assert.is(formatIPv4(parseIPv4(ip)!), ip);
  assert.is(parseIPv4("1.2.3"), undefined);
  assert.is(parseIPv4("1.2.3.256"), undefined);
});

test.run();
