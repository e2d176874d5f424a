// Our protos/containerd must match containerd's own protos field by field: a wrong number breaks the wire silently.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  DEBIAN_UPSTREAM_API_DIR,
  compareRoots,
  loadOurs,
  loadUpstream,
  protoFiles,
  upstreamAvailable,
} from "./proto-compare.js";

const protosRoot = fileURLToPath(new URL("../../../protos", import.meta.url));
const ourDir = join(protosRoot, "containerd");
const upstreamDir = process.env.CONTAINERD_API_PROTOS || DEBIAN_UPSTREAM_API_DIR;

function requireUpstream(): void {
  if (!upstreamAvailable(upstreamDir)) {
    assert.unreachable(
      `containerd's upstream protos are missing at ${upstreamDir}: install them with ` +
        "`apt-get install golang-github-containerd-containerd-dev` (or set CONTAINERD_API_PROTOS)",
    );
  }
}

test("every message, field, enum value and method we declare matches upstream containerd", () => {
  requireUpstream();
  const files = protoFiles(ourDir);
  const problems = compareRoots(loadOurs(protosRoot, files), loadUpstream(upstreamDir, files.map((f) => relative(ourDir, f))));
  assert.equal(problems, [], problems.join("\n"));
});

test("we declare every service the client uses", () => {
  const ours = loadOurs(protosRoot, protoFiles(ourDir));
  for (const svc of ["namespaces.v1.Namespaces", "version.v1.Version", "content.v1.Content", "images.v1.Images",
    "snapshots.v1.Snapshots", "diff.v1.Diff", "containers.v1.Containers", "tasks.v1.Tasks", "events.v1.Events",
    "leases.v1.Leases"]) {
    assert.ok(ours.lookupService(`containerd.services.${svc}`), svc);
  }
  assert.ok(ours.lookupType("containerd.events.TaskExit"));
});

// Copies our protos into a temp dir, applies an edit to one file, and compares that copy with upstream.
function compareEdited(file: string, edit: (text: string) => string): string[] {
  const tmp = mkdtempSync(join(tmpdir(), "svcd-protos-"));
  try {
    for (const f of protoFiles(ourDir)) {
      const rel = relative(protosRoot, f);
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      const text = readFileSync(f, "utf8");
      writeFileSync(join(tmp, rel), rel === file ? edit(text) : text);
    }
    const files = protoFiles(join(tmp, "containerd"));
    return compareRoots(loadOurs(tmp, files), loadUpstream(upstreamDir, files.map((f) => relative(join(tmp, "containerd"), f))));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test("a wrong field number fails the comparison", () => {
  requireUpstream();
  const problems = compareEdited("containerd/types/mount.proto", (t) => t.replace("repeated string options = 4;", "repeated string options = 5;"));
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0] ?? "", /containerd\.types\.Mount\.options/);
});

test("a wrong type, a lost repeated and a wrong stream flag each fail", () => {
  requireUpstream();
  const problems = compareEdited("containerd/services/content/v1/content.proto", (t) =>
    t
      .replace("int64 offset = 2;", "uint64 offset = 2;")
      .replace("repeated string filters = 1;\n}\n\nmessage ListContentResponse", "string filters = 1;\n}\n\nmessage ListContentResponse")
      .replace("returns (stream ReadContentResponse)", "returns (ReadContentResponse)"),
  );
  assert.equal(problems.length, 3, problems.join("\n"));
});

test.run();
