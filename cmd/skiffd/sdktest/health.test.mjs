import { test, after } from "node:test";
import assert from "node:assert/strict";
import { newClient, raw } from "./helpers.mjs";

const client = newClient();
after(() => client.stop());

test("client.start() waits for the sidecar and returns", async () => {
  // awaitSidecarStarted polls GET /v1.0/metadata until it answers 2xx.
  await client.start();
});

test("client.health.isHealthy() is true", async () => {
  // SDK oddity: isHealthy() calls GET /v1.0/metadata and returns
  // !!body, not GET /v1.0/healthz. The health endpoints are checked raw below.
  assert.equal(await client.health.isHealthy(), true);
});

test("GET /v1.0/healthz/outbound is 204 with no body (daprd: 204 once the API is up)", async () => {
  const r = await raw("GET", "/v1.0/healthz/outbound");
  assert.equal(r.status, 204);
  assert.equal(r.text, "");
});

test("GET /v1.0/healthz is 204 with the app up (daprd: 204 once the app channel is ready)", async () => {
  // sdk_test.go starts the SDK app and waits for this before running node --test.
  const r = await raw("GET", "/v1.0/healthz");
  assert.equal(r.status, 204, `${r.status} ${r.text}`);
  assert.equal(r.text, "");
});
