// Secrets and bindings through the SDK, on skiffd's embedded defaults (no
// secret store, no binding): the SDK must surface daprd's errors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { newClient, sdkError } from "./helpers.mjs";

const client = newClient();
after(() => client.stop());

test("client.secret.get() with no secret store throws 500 ERR_SECRET_STORES_NOT_CONFIGURED", async () => {
  await assert.rejects(client.secret.get("secretstore", "key"), (err) => {
    const e = sdkError(err);
    assert.equal(e.status, 500, e.body);
    assert.equal(e.json?.errorCode, "ERR_SECRET_STORES_NOT_CONFIGURED", e.body);
    assert.equal(e.json.message, "secret store is not configured");
    return true;
  });
});

test("client.secret.getBulk() with no secret store throws the same", async () => {
  await assert.rejects(client.secret.getBulk("secretstore"), (err) => {
    assert.equal(sdkError(err).json?.errorCode, "ERR_SECRET_STORES_NOT_CONFIGURED");
    return true;
  });
});

test("client.binding.send() to an unknown binding throws 500 ERR_INVOKE_OUTPUT_BINDING", async () => {
  await assert.rejects(client.binding.send("mybinding", "create", { a: 1 }), (err) => {
    const e = sdkError(err);
    assert.equal(e.status, 500, e.body);
    assert.equal(e.json?.errorCode, "ERR_INVOKE_OUTPUT_BINDING", e.body);
    assert.equal(e.json.message, "error invoking output binding mybinding: couldn't find output binding mybinding");
    return true;
  });
});
