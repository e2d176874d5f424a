import { test } from "uvu";
import * as assert from "uvu/assert";
import { isNumericUser, parseGroup, parsePasswd, parseUserSpec, resolveUser } from "../../../src/runtime/user.js";

const passwd = parsePasswd(`root:x:0:0:root:/root:/bin/sh
# comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
broken line
app:x:1000:1000::/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`);
const groups = parseGroup(`root:x:0:
wheel:x:10:root,app
app:x:1000:
audio:x:29: app , other
nogroup:x:65534:
bad:x:notanumber:
`);

test("parses passwd and group", () => {
  assert.is(passwd.length, 4);
  assert.equal(passwd[2], { name: "app", uid: 1000, gid: 1000, home: "/home/app", shell: "/bin/sh" });
  assert.is(groups.length, 5);
  assert.equal(groups[3], { name: "audio", gid: 29, members: ["app", "other"] });
});

test("parseUserSpec", () => {
  assert.equal(parseUserSpec("nobody"), { user: "nobody" });
  assert.equal(parseUserSpec("1000:1000"), { user: "1000", group: "1000" });
  for (const bad of [":", "a:", ":b", "a:b:c", "a b", "99999999999"]) assert.throws(() => parseUserSpec(bad), bad);
});

test("isNumericUser: only uid:gid (and empty) need no files", () => {
  assert.ok(isNumericUser(""));
  assert.ok(isNumericUser("1000:1000"));
  assert.not.ok(isNumericUser("1000"));
  assert.not.ok(isNumericUser("nobody"));
  assert.not.ok(isNumericUser("1000:staff"));
});

test("named users", () => {
  assert.equal(resolveUser("nobody", passwd, groups), { uid: 65534, gid: 65534 });
  assert.equal(resolveUser("app", passwd, groups), { uid: 1000, gid: 1000, additionalGids: [10, 29] });
  assert.throws(() => resolveUser("ghost", passwd, groups), (e: unknown) => (e as { code: string }).code === "NOT_FOUND");
});

test("numeric users", () => {
  assert.equal(resolveUser("", passwd, groups), { uid: 0, gid: 0 });
  assert.equal(resolveUser("1000", passwd, groups), { uid: 1000, gid: 1000, additionalGids: [10, 29] });
  assert.equal(resolveUser("4242"), { uid: 4242, gid: 0 });
  assert.equal(resolveUser("4242:77"), { uid: 4242, gid: 77 });
});

test("explicit groups replace the primary group and add no supplementary ones", () => {
  assert.equal(resolveUser("app:audio", passwd, groups), { uid: 1000, gid: 29 });
  assert.equal(resolveUser("app:5", passwd, groups), { uid: 1000, gid: 5 });
  assert.equal(resolveUser("1000:wheel", passwd, groups), { uid: 1000, gid: 10 });
  assert.throws(() => resolveUser("app:ghosts", passwd, groups), (e: unknown) => (e as { code: string }).code === "NOT_FOUND");
});

test.run();
