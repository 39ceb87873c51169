import { test, after } from "node:test";
import assert from "node:assert/strict";
import dapr from "@dapr/dapr";
import { newClient, raw, sdkError, uniq } from "./helpers.mjs";

const { StateConcurrencyEnum } = dapr;
const STORE = "statestore";
const client = newClient();
after(() => client.stop());

// The SDK's get() drops the ETag response header, so etags are read with
// getBulk (daprd puts them in the body there) or raw.
async function etagOf(key) {
  const [item] = await client.state.getBulk(STORE, [key]);
  assert.equal(item.key, key);
  return item.etag;
}

test("save then get round-trips JSON, strings and numbers", async () => {
  const k = uniq("rt");
  const res = await client.state.save(STORE, [
    { key: `${k}-obj`, value: { name: "Tatooine", moons: 3, tags: ["desert"] } },
    { key: `${k}-str`, value: "DeathStar" },
    { key: `${k}-num`, value: 42 },
  ]);
  assert.deepEqual(res, {}, "save returns {} on 204");
  assert.deepEqual(await client.state.get(STORE, `${k}-obj`), { name: "Tatooine", moons: 3, tags: ["desert"] });
  assert.equal(await client.state.get(STORE, `${k}-str`), "DeathStar");
  assert.equal(await client.state.get(STORE, `${k}-num`), 42);

  // daprd: 200, the JSON value as stored, an ETag header.
  const r = await raw("GET", `/v1.0/state/${STORE}/${k}-obj`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^application\/json/);
  assert.ok(r.headers.get("etag"), "ETag header");
  assert.deepEqual(r.json, { name: "Tatooine", moons: 3, tags: ["desert"] });
});

test("get of a missing key: daprd's 204 comes back from the SDK as an empty string", async () => {
  // SDK oddity: the 204 empty body is returned as "" (not undefined/null).
  assert.equal(await client.state.get(STORE, uniq("missing")), "");
  const r = await raw("GET", `/v1.0/state/${STORE}/${uniq("missing")}`);
  assert.equal(r.status, 204);
  assert.equal(r.text, "");
});

test("etags: a stale etag fails save and delete with 409, the current one succeeds", async () => {
  const k = uniq("etag");
  await client.state.save(STORE, [{ key: k, value: "v1" }]);
  const e1 = await etagOf(k);
  assert.ok(e1, "getBulk returns an etag");
  const hdr = (await raw("GET", `/v1.0/state/${STORE}/${k}`)).headers.get("etag");
  assert.equal(hdr, e1, "ETag header of GET equals the etag of getBulk");

  // Save with the current etag: accepted, the etag changes.
  assert.deepEqual(await client.state.save(STORE, [{ key: k, value: "v2", etag: e1 }]), {});
  const e2 = await etagOf(k);
  assert.notEqual(e2, e1);
  assert.equal(await client.state.get(STORE, k), "v2");

  // Save with the stale etag. SDK oddity: save() does not throw; it returns
  // {error}. daprd: 409 ERR_STATE_SAVE "possible etag mismatch".
  const bad = await client.state.save(STORE, [{ key: k, value: "v3", etag: e1 }]);
  assert.ok(bad.error, `stale save returned ${JSON.stringify(bad)}`);
  let e = sdkError(bad.error);
  assert.equal(e.status, 409, e.body);
  assert.equal(e.json.errorCode, "ERR_STATE_SAVE");
  assert.match(e.json.message, /^failed saving state in state store statestore: possible etag mismatch/);
  assert.equal(await client.state.get(STORE, k), "v2", "a failed save changes nothing");

  // Delete with the stale etag (If-Match): 409 ERR_STATE_DELETE, also as {error}.
  const badDel = await client.state.delete(STORE, k, { etag: e1 });
  assert.ok(badDel.error, `stale delete returned ${JSON.stringify(badDel)}`);
  e = sdkError(badDel.error);
  assert.equal(e.status, 409, e.body);
  assert.equal(e.json.errorCode, "ERR_STATE_DELETE");
  assert.match(e.json.message, new RegExp(`^failed deleting state with key ${k}: possible etag mismatch`));
  assert.equal(await client.state.get(STORE, k), "v2");

  // Delete with the current etag.
  assert.deepEqual(await client.state.delete(STORE, k, { etag: e2 }), {});
  assert.equal(await client.state.get(STORE, k), "");
});

test("first-write concurrency without an etag on an existing key is refused", async () => {
  const k = uniq("fw");
  await client.state.save(STORE, [{ key: k, value: 1 }]);
  const res = await client.state.save(STORE, [
    { key: k, value: 2, options: { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE } },
  ]);
  assert.ok(res.error, `first-write save returned ${JSON.stringify(res)}`);
  const e = sdkError(res.error);
  assert.equal(e.status, 409, e.body);
  assert.equal(e.json.errorCode, "ERR_STATE_SAVE");
  assert.equal(await client.state.get(STORE, k), 1);
});

test("delete without an etag removes the key; deleting a missing key is still 204", async () => {
  const k = uniq("del");
  await client.state.save(STORE, [{ key: k, value: "x" }]);
  assert.deepEqual(await client.state.delete(STORE, k), {});
  assert.equal(await client.state.get(STORE, k), "");
  assert.deepEqual(await client.state.delete(STORE, k), {});
});

test("getBulk returns key/data/etag per key, and only the key for missing ones", async () => {
  const k = uniq("bulk");
  await client.state.save(STORE, [
    { key: `${k}-a`, value: { a: 1 } },
    { key: `${k}-b`, value: "b" },
  ]);
  // SDK oddity: getBulk sends {"keys": [...]} without "parallelism": it puts
  // the function Settings.getDefaultStateGetBulkParallelism (not its value)
  // in the body, and JSON.stringify drops functions.
  const items = await client.state.getBulk(STORE, [`${k}-a`, `${k}-b`, `${k}-none`]);
  assert.equal(items.length, 3);
  const byKey = Object.fromEntries(items.map((i) => [i.key, i]));
  assert.deepEqual(byKey[`${k}-a`].data, { a: 1 });
  assert.equal(byKey[`${k}-b`].data, "b");
  assert.ok(byKey[`${k}-a`].etag && byKey[`${k}-b`].etag);
  // daprd: a missing key is {"key": ...} with no data and no etag.
  assert.deepEqual(byKey[`${k}-none`], { key: `${k}-none` });
});

test("TTL: ttlInSeconds per item or as request metadata expires the key", async () => {
  const k = uniq("ttl");
  const before = Date.now();
  // Per item (body "metadata") and for the whole request (the SDK turns
  // options.metadata into ?metadata.ttlInSeconds=...; daprd merges it into
  // every item).
  await client.state.save(STORE, [{ key: `${k}-item`, value: "soon gone", metadata: { ttlInSeconds: "1" } }]);
  await client.state.save(STORE, [{ key: `${k}-req`, value: "soon gone too" }], { metadata: { ttlInSeconds: "1" } });
  await client.state.save(STORE, [{ key: `${k}-keep`, value: "stays" }]);

  // daprd: GET answers metadata.ttlExpireTime (RFC 3339) as a header and
  // getBulk puts it in each item's metadata.
  const r = await raw("GET", `/v1.0/state/${STORE}/${k}-item`);
  assert.equal(r.status, 200);
  const exp = r.headers.get("metadata.ttlexpiretime");
  assert.ok(exp, `no metadata.ttlExpireTime header in ${JSON.stringify([...r.headers])}`);
  const expMs = Date.parse(exp);
  assert.ok(expMs >= Math.floor(before / 1000) * 1000 && expMs <= Date.now() + 2000, `expire time ${exp}`);
  const items = await client.state.getBulk(STORE, [`${k}-item`, `${k}-req`, `${k}-keep`]);
  const byKey = Object.fromEntries(items.map((i) => [i.key, i]));
  assert.equal(byKey[`${k}-item`].metadata?.ttlExpireTime, exp);
  assert.ok(byKey[`${k}-req`].metadata?.ttlExpireTime, "request-level ttl reaches the item");
  assert.equal(byKey[`${k}-keep`].metadata, undefined, "no ttl, no metadata");

  // Gone once the expire time has passed (poll rather than sleep a fixed 2 s).
  for (const key of [`${k}-item`, `${k}-req`]) {
    for (;;) {
      const v = await client.state.get(STORE, key);
      if (v === "") break;
      assert.equal(v.startsWith("soon gone"), true);
      assert.ok(Date.now() < expMs + 1500, `${key} still there 1.5 s after its expire time ${exp}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  assert.equal(await client.state.get(STORE, `${k}-keep`), "stays");
});

test("transaction: upserts and deletes apply together; a stale etag fails all of them", async () => {
  const k = uniq("tx");
  await client.state.save(STORE, [
    { key: `${k}-old`, value: "old" },
    { key: `${k}-guard`, value: "g1" },
  ]);
  const guardEtag = await etagOf(`${k}-guard`);

  // SDK sends {"operations": [...], "metadata": null}; daprd accepts it, 204.
  await client.state.transaction(STORE, [
    { operation: "upsert", request: { key: `${k}-new`, value: { n: 1 } } },
    { operation: "upsert", request: { key: `${k}-guard`, value: "g2", etag: guardEtag } },
    { operation: "delete", request: { key: `${k}-old` } },
  ]);
  assert.deepEqual(await client.state.get(STORE, `${k}-new`), { n: 1 });
  assert.equal(await client.state.get(STORE, `${k}-guard`), "g2");
  assert.equal(await client.state.get(STORE, `${k}-old`), "");

  // Reusing the now stale etag: the whole transaction fails and the other
  // operation is not applied. daprd answers every transaction failure with
  // 500 ERR_STATE_TRANSACTION (not the 409 of save/delete).
  // Unlike save/delete, transaction() throws.
  await assert.rejects(
    client.state.transaction(STORE, [
      { operation: "upsert", request: { key: `${k}-other`, value: "nope" } },
      { operation: "delete", request: { key: `${k}-guard`, etag: guardEtag } },
    ]),
    (err) => {
      const e = sdkError(err);
      assert.equal(e.status, 500, e.body);
      assert.equal(e.json.errorCode, "ERR_STATE_TRANSACTION");
      assert.match(e.json.message, /^error while executing state transaction: /);
      return true;
    },
  );
  assert.equal(await client.state.get(STORE, `${k}-other`), "");
  assert.equal(await client.state.get(STORE, `${k}-guard`), "g2");

  // ttlInSeconds in an operation's own metadata applies to that upsert.
  await client.state.transaction(STORE, [
    { operation: "upsert", request: { key: `${k}-ttl`, value: "t", metadata: { ttlInSeconds: "60" } } },
  ]);
  const [item] = await client.state.getBulk(STORE, [`${k}-ttl`]);
  assert.equal(item.data, "t");
  assert.ok(item.metadata?.ttlExpireTime, `transaction op ttl: ${JSON.stringify(item)}`);
});

test("an unknown store is 400 ERR_STATE_STORE_NOT_FOUND", async () => {
  await assert.rejects(client.state.get("nosuchstore", "k"), (err) => {
    const e = sdkError(err);
    assert.equal(e.status, 400, e.body);
    assert.equal(e.json.errorCode, "ERR_STATE_STORE_NOT_FOUND");
    assert.equal(e.json.message, "state store nosuchstore is not found");
    return true;
  });
  const res = await client.state.save("nosuchstore", [{ key: "k", value: 1 }]);
  assert.equal(sdkError(res.error).status, 400);
});
