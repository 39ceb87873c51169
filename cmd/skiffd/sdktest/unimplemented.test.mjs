// Blocks skiffd has not built answer 501 ERR_API_UNIMPLEMENTED. The SDK must
// surface that as a failure, never as success.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { newClient, sdkError } from "./helpers.mjs";

const client = newClient();
after(() => client.stop());

function assert501(err, block) {
  const e = sdkError(err);
  assert.equal(e.status, 501, e.body);
  assert.equal(e.statusText, "Not Implemented");
  assert.equal(e.json?.errorCode, "ERR_API_UNIMPLEMENTED", e.body);
  assert.match(e.json.message, new RegExp(`the ${block} API is not implemented`));
}

test("client.pubsub.publish() returns {error} carrying the 501", async () => {
  // SDK oddity: publish() never throws on an HTTP error; it logs it and
  // returns {error: Error}. An app that ignores the result sees success.
  const res = await client.pubsub.publish("pubsub", "orders", { id: 1 });
  assert.ok(res.error, `publish returned ${JSON.stringify(res)}`);
  assert501(res.error, "pub/sub");
});

test("client.pubsub.publishBulk() reports every entry failed with the 501", async () => {
  const res = await client.pubsub.publishBulk("pubsub", "orders", [{ a: 1 }, { b: 2 }]);
  assert.equal(res.failedMessages.length, 2);
  for (const f of res.failedMessages) {
    assert501(f.error, "pub/sub");
  }
});

test("client.secret.get() throws the 501", async () => {
  await assert.rejects(client.secret.get("secretstore", "key"), (err) => {
    assert501(err, "secrets");
    return true;
  });
});

test("client.binding.send() throws the 501", async () => {
  await assert.rejects(client.binding.send("mybinding", "create", { a: 1 }), (err) => {
    assert501(err, "bindings");
    return true;
  });
});

test("client.lock.lock() throws the 501", async () => {
  await assert.rejects(client.lock.lock("lockstore", "res", "owner", 10), (err) => {
    assert501(err, "distributed lock");
    return true;
  });
});

test("client.configuration.get() over HTTP fails in the SDK before any request", async () => {
  // SDK oddity: the HTTP client throws HTTPNotSupportedError for the whole
  // configuration API although daprd serves GET /v1.0/configuration/{store}.
  await assert.rejects(client.configuration.get("configstore", ["k"]), (err) => {
    assert.equal(err.constructor.name, "HTTPNotSupportedError");
    return true;
  });
});
