// The distributed lock API through the SDK's HTTP client, on skiffd's
// embedded lockstore (lock.in-memory).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { newClient, sdkError } from "./helpers.mjs";

const client = newClient();
after(() => client.stop());

test("client.lock: two owners contend; unlock statuses", async () => {
  const res = `sdk-lock-${process.pid}`;
  assert.deepEqual(await client.lock.lock("lockstore", res, "alice", 30), { success: true });
  assert.deepEqual(await client.lock.lock("lockstore", res, "bob", 30), { success: false });
  // LockStatus: 0 Success, 1 LockDoesNotExist, 2 LockBelongsToOthers.
  assert.deepEqual(await client.lock.unlock("lockstore", res, "bob"), { status: 2 });
  assert.deepEqual(await client.lock.unlock("lockstore", res, "alice"), { status: 0 });
  assert.deepEqual(await client.lock.unlock("lockstore", res, "alice"), { status: 1 });
  assert.deepEqual(await client.lock.lock("lockstore", res, "bob", 30), { success: true });
  assert.deepEqual(await client.lock.unlock("lockstore", res, "bob"), { status: 0 });
});

test("client.lock.lock() on an unknown store throws daprd's 400", async () => {
  await assert.rejects(client.lock.lock("nope", "r", "o", 10), (err) => {
    const e = sdkError(err);
    assert.equal(e.status, 400, e.body);
    assert.equal(e.json?.errorCode, "ERR_LOCK_STORE_NOT_FOUND", e.body);
    return true;
  });
});
