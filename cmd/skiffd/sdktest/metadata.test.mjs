import { test, after } from "node:test";
import assert from "node:assert/strict";
import { newClient, env, uniq } from "./helpers.mjs";

const client = newClient();
after(() => client.stop());

test("client.metadata.get() describes the sidecar as daprd 1.18 does", async () => {
  const md = await client.metadata.get();
  assert.equal(md.id, env.appId);
  // daprd 1.18: runtimeVersion, and extended.daprRuntimeVersion always set.
  assert.match(md.runtimeVersion, /^1\.18\./);
  assert.equal(md.extended.daprRuntimeVersion, md.runtimeVersion);
  assert.ok(Array.isArray(md.actors), "actors is an array");
  assert.ok(Array.isArray(md.enabledFeatures), "enabledFeatures is an array");
  assert.ok(Array.isArray(md.subscriptions), "subscriptions is an array");
  assert.ok(Array.isArray(md.httpEndpoints), "httpEndpoints is an array");
  // With no --resources-path skiffd loads its in-memory store as "statestore".
  const store = md.components.find((c) => c.name === "statestore");
  assert.ok(store, `no statestore in ${JSON.stringify(md.components)}`);
  assert.equal(store.type, "state.in-memory");
  assert.equal(store.version, "v1");
  for (const cap of ["ETAG", "TRANSACTIONAL", "TTL"]) {
    assert.ok(store.capabilities.includes(cap), `capability ${cap} in ${store.capabilities}`);
  }
  // daprd reports how it reaches the app.
  assert.equal(md.appConnectionProperties.port, Number(env.appPort));
  assert.equal(md.appConnectionProperties.protocol, "http");
  assert.equal(md.appConnectionProperties.channelAddress, "127.0.0.1");
});

test("client.metadata.set() stores an attribute that get() returns under extended", async () => {
  const key = uniq("attr");
  const value = "hello wörld: a=b&c";
  // PUT /v1.0/metadata/{key} with Content-Type text/plain; daprd answers 204.
  assert.equal(await client.metadata.set(key, value), true);
  const md = await client.metadata.get();
  assert.equal(md.extended[key], value);

  // Setting it again replaces the value.
  await client.metadata.set(key, "second");
  assert.equal((await client.metadata.get()).extended[key], "second");
});
