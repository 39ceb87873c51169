// Publishing through the SDK's HTTP client against skiffd's embedded
// pubsub.in-memory component named "pubsub".
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { newClient, sdkError } from "./helpers.mjs";

const client = newClient();
after(() => client.stop());

test("client.pubsub.publish() succeeds", async () => {
  const res = await client.pubsub.publish("pubsub", "sdk-orders", { id: 1 });
  assert.equal(res.error, undefined, `publish returned ${JSON.stringify(res)}`);
});

test("client.pubsub.publish() of a string and with metadata succeeds", async () => {
  const res = await client.pubsub.publish("pubsub", "sdk-orders", "plain", { metadata: { ttlInSeconds: "60" } });
  assert.equal(res.error, undefined, `publish returned ${JSON.stringify(res)}`);
});

test("client.pubsub.publishBulk() reports no failed entry", async () => {
  const res = await client.pubsub.publishBulk("pubsub", "sdk-orders", [{ a: 1 }, "two", { c: 3 }]);
  assert.deepEqual(res.failedMessages, []);
});

test("client.pubsub.publish() to an unknown pubsub returns {error} with daprd's 404", async () => {
  const res = await client.pubsub.publish("nope", "orders", { id: 1 });
  assert.ok(res.error, `publish returned ${JSON.stringify(res)}`);
  const e = sdkError(res.error);
  assert.equal(e.status, 404, e.body);
  assert.equal(e.json?.errorCode, "ERR_PUBSUB_NOT_FOUND", e.body);
});
