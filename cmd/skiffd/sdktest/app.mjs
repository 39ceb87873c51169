// The app side: a DaprServer (HTTP) built with the SDK, reached through
// skiffd's service invocation. sdk_test.go runs it with SKIFFD_APP_PORT and
// SKIFFD_HTTP_PORT set and stops it with SIGINT.
import { DaprServer, CommunicationProtocolEnum, HttpMethod, env, quietLogger } from "./helpers.mjs";

const server = new DaprServer({
  serverHost: env.host,
  serverPort: env.appPort,
  communicationProtocol: CommunicationProtocolEnum.HTTP,
  clientOptions: { daprHost: env.host, daprPort: env.httpPort },
  logger: quietLogger,
});

// Echo what the app received, so the tests can see what skiffd forwarded.
// The SDK hands the callback body = JSON.stringify(req.body) and
// query = req.originalUrl.
const echo = async (data) => ({
  body: data.body,
  query: data.query,
  contentType: data.metadata?.contentType ?? null,
  headers: data.headers,
});

await server.invoker.listen("echo", echo, { method: HttpMethod.POST });
await server.invoker.listen("echo", echo, { method: HttpMethod.PUT });
await server.invoker.listen("hello", async () => ({ hello: "world" })); // GET by default
await server.invoker.listen("nothing", async () => undefined, { method: HttpMethod.POST });
await server.invoker.listen("text", async () => "plain text", { method: HttpMethod.GET });

// The listener wraps the callback and always answers 200; to get another
// status the callback must write the response itself, which needs the
// express server underneath.
server.daprServer.getServer().post("/teapot", (req, res) => {
  res.status(418).type("application/json").send(JSON.stringify({ short: "and stout" }));
});

await server.start(); // listens, then waits for the sidecar's /v1.0/metadata
console.log(`sdk app listening on ${env.appPort}`);

const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
