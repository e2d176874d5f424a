// Runs last (the runner sorts files): whatever the suite did, nothing svcd makes is left — see test/rig/leak-check.ts
// for the list (containerd objects, processes, mounts, network state, hosts files, FIFO dirs, reserved addresses,
// nftables elements and chains, service logs, PRIVATE cache copies). The runner also checks after every file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkLeaks } from "../rig/leak-check.js";

const address = process.env.CONTAINERD_ADDRESS ?? "/run/containerd/containerd.sock";

test("nothing svcd makes is left in this run's containerd, processes, mounts or state dirs", async () => {
  assert.equal(await checkLeaks({ address }), []);
});

test.run();
