// Shared set-up for the SDK tests. sdk_test.go starts skiffd and passes its
// ports in the environment; run `go test ./cmd/skiffd/sdktest` rather than
// `npm test` unless a skiffd (or daprd) is already listening.
import dapr from "@dapr/dapr";

export const { DaprClient, DaprServer, CommunicationProtocolEnum, HttpMethod, LogLevel } = dapr;

function need(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run these tests through "go test ./cmd/skiffd/sdktest", which starts skiffd and sets it`);
  }
  return v;
}

export const env = {
  host: "127.0.0.1",
  httpPort: need("SKIFFD_HTTP_PORT"),
  appPort: need("SKIFFD_APP_PORT"),
  appId: need("SKIFFD_APP_ID"),
};

// The SDK logs every state/pubsub failure it swallows; the tests assert on
// those failures, so keep the output to what node --test prints.
const silent = { error() {}, warn() {}, info() {}, verbose() {}, debug() {} };
export const quietLogger = { level: LogLevel.Error, service: silent };

export function newClient() {
  return new DaprClient({
    daprHost: env.host,
    daprPort: env.httpPort,
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    logger: quietLogger,
  });
}

// Raw HTTP to the sidecar, for what the SDK hides (status codes, headers).
export async function raw(method, path, { headers = {}, body } = {}) {
  const res = await fetch(`http://${env.host}:${env.httpPort}${path}`, { method, headers, body });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

// The HTTP client throws Error(JSON.stringify({error, error_msg, status}))
// for any status outside 200-399; state.save/delete and pubsub.publish
// return it as {error} instead. Both come back here as
// {status, statusText, body, json}.
export function sdkError(err) {
  if (!(err instanceof Error)) {
    throw new Error(`expected an Error from the SDK, got ${JSON.stringify(err)}`);
  }
  const e = JSON.parse(err.message);
  let json;
  try {
    json = JSON.parse(e.error_msg);
  } catch {
    json = undefined;
  }
  return { status: e.status, statusText: e.error, body: e.error_msg, json };
}

// A key prefix no other run (or parallel test file) shares.
export function uniq(name) {
  return `sdk-${name}-${process.pid}-${Date.now().toString(36)}`;
}
