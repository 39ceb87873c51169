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

test("client.configuration.get() over HTTP fails in the SDK before any request", async () => {
  // SDK oddity: the HTTP client throws HTTPNotSupportedError for the whole
  // configuration API although daprd serves GET /v1.0/configuration/{store}.
  await assert.rejects(client.configuration.get("configstore", ["k"]), (err) => {
    assert.equal(err.constructor.name, "HTTPNotSupportedError");
    return true;
  });
});
