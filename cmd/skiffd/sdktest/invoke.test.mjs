// Service invocation through skiffd to app.mjs, an app built with the SDK's
// own DaprServer (HTTP), started by sdk_test.go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { newClient, raw, sdkError, env, HttpMethod } from "./helpers.mjs";

const client = newClient();
after(() => client.stop());

test("invoker.invoke POST with a JSON body reaches the app's invoker.listen callback", async () => {
  const res = await client.invoker.invoke(env.appId, "echo", HttpMethod.POST, { hello: "world", n: [1, 2] });
  // The SDK's server passes the callback body = JSON.stringify(req.body).
  assert.deepEqual(JSON.parse(res.body), { hello: "world", n: [1, 2] });
  assert.equal(res.query, "/echo");
  assert.equal(res.contentType, "application/json");
  // The app sees the SDK's user agent, and daprd's caller/callee headers.
  assert.match(res.headers["user-agent"], /^dapr-sdk-js\//);
  assert.equal(res.headers["dapr-caller-app-id"], env.appId);
  assert.equal(res.headers["dapr-callee-app-id"], env.appId);
});

test("the query string and custom headers are forwarded to the app", async () => {
  const res = await client.invoker.invoke(env.appId, "echo?x=1&y=a%20b", HttpMethod.PUT, { k: "v" }, {
    headers: { "x-custom": "abc" },
  });
  assert.equal(res.query, "/echo?x=1&y=a%20b");
  assert.equal(res.headers["x-custom"], "abc");
  assert.deepEqual(JSON.parse(res.body), { k: "v" });
});

test("invoker.invoke GET with no body", async () => {
  assert.deepEqual(await client.invoker.invoke(env.appId, "hello", HttpMethod.GET), { hello: "world" });
});

test("a callback returning undefined answers {closed: true} (SDK server behaviour)", async () => {
  assert.deepEqual(await client.invoker.invoke(env.appId, "nothing", HttpMethod.POST, { a: 1 }), { closed: true });
});

test("a string answer is JSON-encoded by the SDK server and decoded by the client", async () => {
  assert.equal(await client.invoker.invoke(env.appId, "text", HttpMethod.GET), "plain text");
});

test("the app's non-2xx status and body come back unchanged (daprd passes them through)", async () => {
  await assert.rejects(client.invoker.invoke(env.appId, "teapot", HttpMethod.POST, {}), (err) => {
    const e = sdkError(err);
    assert.equal(e.status, 418);
    assert.deepEqual(e.json, { short: "and stout" });
    return true;
  });
  // express's own 404 for a route the app does not have.
  await assert.rejects(client.invoker.invoke(env.appId, "missing", HttpMethod.POST, {}), (err) => {
    const e = sdkError(err);
    assert.equal(e.status, 404);
    assert.match(e.body, /Cannot POST \/missing/);
    return true;
  });
  // The raw response keeps the app's content type.
  const r = await raw("POST", `/v1.0/invoke/${env.appId}/method/teapot`);
  assert.equal(r.status, 418);
  assert.match(r.headers.get("content-type"), /^application\/json/);
});

test("an app id that cannot be resolved is 500 ERR_DIRECT_INVOKE", async () => {
  await assert.rejects(client.invoker.invoke("no-such-app", "echo", HttpMethod.POST, {}), (err) => {
    const e = sdkError(err);
    assert.equal(e.status, 500, e.body);
    assert.equal(e.json.errorCode, "ERR_DIRECT_INVOKE");
    assert.match(e.json.message, /^failed to invoke, id: no-such-app, err: /);
    return true;
  });
});
