// Pins the exact HTTP requests the SDK sends, by pointing a client at a
// recorder instead of skiffd. The other tests show skiffd answers them as
// daprd does; this one documents the SDK side (and its oddities), so an SDK
// upgrade that changes them shows up here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { DaprClient, CommunicationProtocolEnum, HttpMethod, quietLogger } from "./helpers.mjs";

let server;
let client;
let seen = [];

before(async () => {
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      seen.push({
        method: req.method,
        url: req.url,
        contentType: req.headers["content-type"],
        ifMatch: req.headers["if-match"],
        userAgent: req.headers["user-agent"],
        body: Buffer.concat(chunks).toString(),
      });
      if (req.url === "/v1.0/metadata") {
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else if (req.url.includes("/bulk")) {
        res.writeHead(200, { "content-type": "application/json" }).end("[]");
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  client = new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(server.address().port),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    logger: quietLogger,
  });
  await client.start();
  seen = [];
});

after(async () => {
  await client.stop();
  server.close();
});

async function one(fn) {
  seen = [];
  await fn();
  assert.equal(seen.length, 1, `expected one request, got ${JSON.stringify(seen)}`);
  return seen[0];
}

test("health.isHealthy() sends GET /v1.0/metadata, not /v1.0/healthz", async () => {
  const r = await one(() => client.health.isHealthy());
  assert.equal(r.method, "GET");
  assert.equal(r.url, "/v1.0/metadata");
  assert.match(r.userAgent, /^dapr-sdk-js\/v3\.18\.0 http\/1$/);
});

test("metadata.set() sends PUT /v1.0/metadata/{key} as text/plain", async () => {
  const r = await one(() => client.metadata.set("k", "v v"));
  assert.deepEqual([r.method, r.url, r.contentType, r.body], ["PUT", "/v1.0/metadata/k", "text/plain", "v v"]);
});

test("state.get() sends GET with a trailing '?' when there are no options", async () => {
  const r = await one(() => client.state.get("statestore", "k1"));
  assert.deepEqual([r.method, r.url, r.body], ["GET", "/v1.0/state/statestore/k1?", ""]);
});

test("state.save() sends the array; options.metadata becomes metadata.* query parameters", async () => {
  const r = await one(() =>
    client.state.save("statestore", [{ key: "a", value: { x: 1 }, etag: "e1" }], { metadata: { ttlInSeconds: "5" } }),
  );
  assert.equal(r.method, "POST");
  assert.equal(r.url, "/v1.0/state/statestore?metadata.ttlInSeconds=5");
  assert.equal(r.contentType, "application/json");
  assert.deepEqual(JSON.parse(r.body), [{ key: "a", value: { x: 1 }, etag: "e1", options: {} }]);
});

test("state.getBulk() sends no parallelism (the SDK serializes a function, which JSON drops)", async () => {
  const r = await one(() => client.state.getBulk("statestore", ["a", "b"]));
  assert.deepEqual([r.method, r.url], ["POST", "/v1.0/state/statestore/bulk?"]);
  assert.deepEqual(JSON.parse(r.body), { keys: ["a", "b"] });
});

test("state.delete() sends the etag as If-Match", async () => {
  const r = await one(() => client.state.delete("statestore", "a", { etag: "e9" }));
  assert.deepEqual([r.method, r.url, r.ifMatch], ["DELETE", "/v1.0/state/statestore/a?", "e9"]);
});

test("state.transaction() sends metadata: null when none is given", async () => {
  const r = await one(() =>
    client.state.transaction("statestore", [{ operation: "upsert", request: { key: "a", value: 1 } }]),
  );
  assert.deepEqual([r.method, r.url], ["POST", "/v1.0/state/statestore/transaction"]);
  assert.deepEqual(JSON.parse(r.body), {
    operations: [{ operation: "upsert", request: { key: "a", value: 1, options: {} } }],
    metadata: null,
  });
});

test("invoker.invoke() sends the method upper-cased and a JSON body", async () => {
  const r = await one(() => client.invoker.invoke("app", "do/it?q=1", HttpMethod.POST, { a: 1 }));
  assert.deepEqual([r.method, r.url, r.contentType, r.body], [
    "POST",
    "/v1.0/invoke/app/method/do/it?q=1",
    "application/json",
    '{"a":1}',
  ]);
});
