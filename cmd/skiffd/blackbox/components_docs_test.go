package blackbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// The "Component format" examples of Dapr's reference pages
// (docs.dapr.io/reference/components-reference/…), written out with every
// metadata item the example shows, in its order and structure. Only
// placeholders are replaced, by this machine's services ("@@…@@" below):
// hosts, URLs, passwords and credentials ("<HOST>", "**************",
// "my-token", …), "<bool>"/"<string>" by a value of that kind, and table,
// stream, topic and client names by names unique to the run. No example
// here uses secretKeyRef; none needs a secret store. Items written
// "value: # Optional" stay null, as on the page. Anything else changed
// is said in the comment of the example.

// docsStatePostgresV1 is setup-postgresql-v1: the example with its optional
// items uncommented, as a user enabling them would (documented values;
// unique table names). The v2 page (version: v2) is not here: skiffd
// implements v1 only and refuses v2 (TestStatePostgresV2Refused).
const docsStatePostgresV1 = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: docs-pg-state
spec:
  type: state.postgresql
  version: v1
  metadata:
    # Connection string
    - name: connectionString
      value: "@@PG_URL@@"
    # Timeout for database operations, as a Go duration or number of seconds (optional)
    - name: timeout
      value: 20
    # Name of the table where to store the state (optional)
    - name: tableName
      value: "@@STATE_TABLE@@"
    # Name of the table where to store metadata used by Dapr (optional)
    - name: metadataTableName
      value: "@@META_TABLE@@"
    # Cleanup interval in seconds, to remove expired rows (optional)
    - name: cleanupInterval
      value: "1h"
    # Maximum number of connections pooled by this component (optional)
    - name: maxConns
      value: 0
    # Max idle time for connections before they're closed (optional)
    - name: connectionMaxIdleTime
      value: 0
    # Controls the default mode for executing queries. (optional)
    - name: queryExecMode
      value: ""
    # Uncomment this if you wish to use PostgreSQL as a state store for actors or workflows (optional)
    - name: actorStateStore
      value: "true"
`

// docsPubsubJetStream is setup-jetstream. Credentials: the local NATS has
// no authentication, so jwt, seedKey, token and the TLS client files are
// empty (the names stay). domain "hub" and apiPrefix "PREFIX" name a
// leaf-node setup this server does not have: domain is empty and apiPrefix
// is the server's own ("$JS.API"). streamName is a stream the test
// creates (daprd never creates streams either).
const docsPubsubJetStream = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: jetstream-pubsub
spec:
  type: pubsub.jetstream
  version: v1
  metadata:
  - name: natsURL
    value: "@@NATS_URL@@"
  - name: jwt # Optional. Used for decentralized JWT authentication.
    value: ""
  - name: seedKey # Optional. Used for decentralized JWT authentication.
    value: ""
  - name: tls_client_cert # Optional. Used for TLS Client authentication.
    value: ""
  - name: tls_client_key # Optional. Used for TLS Client authentication.
    value: ""
  - name: token # Optional. Used for token based authentication.
    value: ""
  - name: name
    value: "my-conn-name"
  - name: streamName
    value: "@@STREAM@@"
  - name: durableName
    value: "my-durable-subscription"
  - name: queueGroupName
    value: "my-queue-group"
  - name: startSequence
    value: 1
  - name: startTime # In Unix format
    value: 1630349391
  - name: flowControl
    value: false
  - name: ackWait
    value: 10s
  - name: maxDeliver
    value: 5
  - name: backOff
    value: "50ms, 1s, 10s"
  - name: maxAckPending
    value: 5000
  - name: replicas
    value: 1
  - name: memoryStorage
    value: false
  - name: rateLimit
    value: 1024
  - name: heartbeat
    value: 15s
  - name: ackPolicy
    value: explicit
  - name: deliverPolicy
    value: all
  - name: domain
    value: ""
  - name: apiPrefix
    value: $JS.API
`

// docsPubsubRabbitMQ is setup-rabbitmq. connectionString, hostname,
// username and password are the local broker's (guest/guest).
// clientName is left exactly as the page writes it, {podName} unquoted:
// YAML reads that as a mapping, so daprd (and skiffd) pass the JSON
// {"podName":null} as the connection name, not a pod name.
const docsPubsubRabbitMQ = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: rabbitmq-pubsub
spec:
  type: pubsub.rabbitmq
  version: v1
  metadata:
  - name: connectionString
    value: "@@AMQP_URL@@"
  - name: protocol
    value: amqp
  - name: hostname
    value: @@AMQP_HOST@@
  - name: username
    value: guest
  - name: password
    value: guest
  - name: consumerID
    value: channel1
  - name: durable
    value: false
  - name: deletedWhenUnused
    value: false
  - name: autoAck
    value: false
  - name: deliveryMode
    value: 0
  - name: requeueInFailure
    value: false
  - name: prefetchCount
    value: 0
  - name: reconnectWait
    value: 0
  - name: concurrencyMode
    value: parallel
  - name: publisherConfirm
    value: false
  - name: enableDeadLetter # Optional enable dead Letter or not
    value: true
  - name: maxLen # Optional max message count in a queue
    value: 3000
  - name: maxLenBytes # Optional maximum length in bytes of a queue.
    value: 10485760
  - name: exchangeKind
    value: fanout
  - name: saslExternal
    value: false
  - name: ttlInSeconds
    value: 60
  - name: clientName
    value: {podName}
  - name: heartBeat
    value: 10s
`

// docsPubsubMQTT3 is setup-mqtt3 (pub/sub). consumerID (the MQTT client
// id, "channel1" on the page) is unique to the run: a fixed client id
// with cleanSession false would share a broker session across runs.
const docsPubsubMQTT3 = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: mqtt-pubsub
spec:
  type: pubsub.mqtt3
  version: v1
  metadata:
    - name: url
      value: "@@MQTT_URL@@"
    # Optional
    - name: retain
      value: "false"
    - name: cleanSession
      value: "false"
    - name: qos
      value: "1"
    - name: consumerID
      value: "@@MQTT_PS_ID@@"
`

// docsConfigurationRedis is redis-configuration-store. useEntraID is
// "true" on the page, which only works against Azure Cache for Redis: it
// is "false" here.
const docsConfigurationRedis = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: docs-redis-config
spec:
  type: configuration.redis
  version: v1
  metadata:
  - name: redisHost
    value: @@REDIS_ADDR@@
  - name: redisPassword
    value: ""
  - name: useEntraID
    value: "false"
  - name: enableTLS
    value: false
`

// docsLockRedis is redis-lock, including the page's repeated failover and
// sentinelMasterName items and its null "value: # Optional" items.
const docsLockRedis = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: docs-redis-lock
spec:
  type: lock.redis
  version: v1
  metadata:
  - name: redisHost
    value: @@REDIS_ADDR@@
  - name: redisPassword #Optional.
    value: ""
  - name: useEntraID
    value: false # Optional. Allowed: true, false.
  - name: enableTLS
    value: false # Optional. Allowed: true, false.
  - name: failover
    value: false # Optional. Allowed: true, false.
  - name: sentinelMasterName
    value: "" # Optional
  - name: maxRetries
    value: # Optional
  - name: maxRetryBackoff
    value: # Optional
  - name: failover
    value: # Optional
  - name: sentinelMasterName
    value: # Optional
  - name: redeliverInterval
    value: # Optional
  - name: processingTimeout
    value: # Optional
  - name: redisType
    value: # Optional
  - name: redisDB
    value: # Optional
  - name: redisMaxRetries
    value: # Optional
  - name: redisMinRetryInterval
    value: # Optional
  - name: redisMaxRetryInterval
    value: # Optional
  - name: dialTimeout
    value: # Optional
  - name: readTimeout
    value: # Optional
  - name: writeTimeout
    value: # Optional
  - name: poolSize
    value: # Optional
  - name: poolTimeout
    value: # Optional
  - name: maxConnAge
    value: # Optional
  - name: minIdleConns
    value: # Optional
  - name: idleCheckFrequency
    value: # Optional
  - name: idleTimeout
    value: # Optional
`

// docsBindingsRedis is the Redis binding page. useEntraID: as for the
// configuration store.
const docsBindingsRedis = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: docs-redis-binding
spec:
  type: bindings.redis
  version: v1
  metadata:
  - name: redisHost
    value: "@@REDIS_ADDR@@"
  - name: redisPassword
    value: ""
  - name: useEntraID
    value: "false"
  - name: enableTLS
    value: "false"
`

// docsBindingsPostgres is the PostgreSQL binding page: the example
// (connectionString), then the items of its "Other metadata options"
// table with documented values (maxConns 0: "0 or lower uses the
// default").
const docsBindingsPostgres = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: docs-pg-binding
spec:
  type: bindings.postgresql
  version: v1
  metadata:
    # Connection string
    - name: connectionString
      value: "@@PG_URL@@"
    - name: timeout
      value: "30s"
    - name: maxConns
      value: "0"
    - name: connectionMaxIdleTime
      value: "5m"
    - name: queryExecMode
      value: "cache_describe"
`

// docsBindingsPostgresURL is the same page's example in older releases of
// Dapr's documentation (v1.5, for one): the connection string in "url" (a
// DSN, as its "URL format" section shows), which daprd 1.18 still reads as
// an alias of connectionString.
const docsBindingsPostgresURL = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: docs-pg-binding-url
spec:
  type: bindings.postgresql
  version: v1
  metadata:
  - name: url # Required
    value: "@@PG_DSN@@"
`

// docsBindingsMQTT3 is the MQTT3 binding page. consumerID ("myapp") is
// unique to the run, for the reason given at docsPubsubMQTT3.
const docsBindingsMQTT3 = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: docs-mqtt-binding
spec:
  type: bindings.mqtt3
  version: v1
  metadata:
    - name: url
      value: "@@MQTT_URL@@"
    - name: topic
      value: "@@MQTT_BIND_TOPIC@@"
    - name: consumerID
      value: "@@MQTT_BIND_ID@@"
    # Optional
    - name: retain
      value: "false"
    - name: cleanSession
      value: "false"
    - name: backOffMaxRetries
      value: "0"
    - name: direction
      value: "input, output"
`

// TestComponentsDocsExamples: the documented component files of
// state.postgresql v1, pubsub.jetstream, pubsub.rabbitmq, pubsub.mqtt3,
// configuration.redis, lock.redis, bindings.redis, bindings.postgresql
// (current and older "url" form) and bindings.mqtt3 load unchanged in
// one resources directory: skiffd becomes healthy, the metadata API lists
// each with its type and version, and each answers one real round trip
// against the local service.
func TestComponentsDocsExamples(t *testing.T) {
	t.Parallel()
	redisHost := redisAddr(t)
	pg := pgURL(t)
	natsU := natsURL(t)
	amqpU := amqpURL(t)
	mqttU := mqttBindAddr(t)

	sfx := conformance.UniqueName("")
	var (
		stateTable = "docs_state_" + sfx
		metaTable  = "docs_meta_" + sfx
		bindTable  = "docs_bind_" + sfx
		stream     = "DOCS_" + sfx
		jsTopic    = "docs-js-" + sfx
		rmqTopic   = "docs-rmq-" + sfx
		mqttTopic  = "docs/ps/" + sfx
		mqttPSID   = "docs-ps-" + sfx
		bindTopic  = "docs/bind/" + sfx
		bindID     = "docs-bind-" + sfx
		keyPrefix  = "docs-" + sfx + "-"
	)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// PostgreSQL: the tables the store and the binding create.
	pgCfg, err := pgx.ParseConfig(pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if c, err := pgx.Connect(cctx, pg); err == nil {
			_, _ = c.Exec(cctx, "DROP TABLE IF EXISTS "+stateTable+", "+metaTable+", "+bindTable)
			c.Close(cctx)
		}
	})
	dsn := fmt.Sprintf("user=%s host=%s port=%d dbname=%s sslmode=disable", pgCfg.User, pgCfg.Host, pgCfg.Port, pgCfg.Database)
	if pgCfg.Password != "" {
		dsn += " password=" + pgCfg.Password
	}

	// JetStream: the stream the component binds to, made before skiffd
	// starts (a missing stream keeps healthz at 500).
	nc, err := nats.Connect(natsU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, natsjs.StreamConfig{Name: stream, Subjects: []string{jsTopic}}); err != nil {
		t.Fatalf("create stream %s: %v", stream, err)
	}
	t.Cleanup(func() { natsDeleteStream(natsU, stream) })

	// RabbitMQ: what skiffd declares for the subscription (durable false,
	// deletedWhenUnused false: it stays): the topic's exchange, the queue
	// {consumerID}-{topic} and, with enableDeadLetter, dlx-/dlq-{queue}.
	t.Cleanup(func() {
		q := "channel1-" + rmqTopic
		docsDeleteAMQP(amqpU, []string{rmqTopic, "dlx-" + q}, []string{q, "dlq-" + q})
	})
	amqpHost := "127.0.0.1"
	if u, err := amqp.ParseURI(amqpU); err == nil {
		amqpHost = u.Host
	}

	// MQTT: the broker sessions of the client ids used (cleanSession false).
	t.Cleanup(func() {
		for _, id := range []string{mqttPSID, bindID + "-consumer", bindID + "-producer"} {
			mqttBindForget(mqttU, id)
		}
	})

	// Redis keys written through the configuration store, lock and binding.
	rc := redisClient(t, redisHost)
	t.Cleanup(func() { redisDelPrefix(rc, "*"+keyPrefix+"*") })

	fill := strings.NewReplacer(
		"@@PG_URL@@", pg, "@@PG_DSN@@", dsn, "@@STATE_TABLE@@", stateTable, "@@META_TABLE@@", metaTable,
		"@@NATS_URL@@", natsU, "@@STREAM@@", stream,
		"@@AMQP_URL@@", amqpU, "@@AMQP_HOST@@", amqpHost,
		"@@MQTT_URL@@", mqttU, "@@MQTT_PS_ID@@", mqttPSID, "@@MQTT_BIND_TOPIC@@", bindTopic, "@@MQTT_BIND_ID@@", bindID,
		"@@REDIS_ADDR@@", redisHost,
	)
	dir := t.TempDir()
	files := []struct{ file, doc string }{
		{"state-postgresql-v1.yaml", docsStatePostgresV1},
		{"pubsub-jetstream.yaml", docsPubsubJetStream},
		{"pubsub-rabbitmq.yaml", docsPubsubRabbitMQ},
		{"pubsub-mqtt3.yaml", docsPubsubMQTT3},
		{"configuration-redis.yaml", docsConfigurationRedis},
		{"lock-redis.yaml", docsLockRedis},
		{"bindings-redis.yaml", docsBindingsRedis},
		{"bindings-postgresql.yaml", docsBindingsPostgres},
		{"bindings-postgresql-url.yaml", docsBindingsPostgresURL},
		{"bindings-mqtt3.yaml", docsBindingsMQTT3},
	}
	for _, f := range files {
		doc := fill.Replace(f.doc)
		if strings.Contains(doc, "@@") {
			t.Fatalf("%s: placeholder left: %s", f.file, doc)
		}
		writeFile(t, dir, f.file, doc)
	}

	// The app subscribes to a topic of each pub/sub and records what the
	// subscriptions and the input binding deliver (200 to everything).
	subs, _ := json.Marshal([]map[string]string{
		{"pubsubname": "jetstream-pubsub", "topic": jsTopic, "route": "/js"},
		{"pubsubname": "rabbitmq-pubsub", "topic": rmqTopic, "route": "/rmq"},
		{"pubsubname": "mqtt-pubsub", "topic": mqttTopic, "route": "/mqtt"},
	})
	app := startBindingsApp(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dapr/subscribe" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(subs)
		}
	})
	appID := "docs" + sfx[:6]
	s := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 3)
	// delivered waits until the app got a POST at path whose body holds
	// want.
	delivered := func(t *testing.T, path, want string) {
		t.Helper()
		pollUntil(t, 30*time.Second, "delivery at "+path, func() bool {
			for _, e := range app.events("POST", path) {
				if strings.Contains(string(e.Body), want) {
					return true
				}
			}
			return false
		})
	}

	t.Run("metadata", func(t *testing.T) {
		want := map[string]string{
			"docs-pg-state":       "state.postgresql/v1",
			"jetstream-pubsub":    "pubsub.jetstream/v1",
			"rabbitmq-pubsub":     "pubsub.rabbitmq/v1",
			"mqtt-pubsub":         "pubsub.mqtt3/v1",
			"docs-redis-config":   "configuration.redis/v1",
			"docs-redis-lock":     "lock.redis/v1",
			"docs-redis-binding":  "bindings.redis/v1",
			"docs-pg-binding":     "bindings.postgresql/v1",
			"docs-pg-binding-url": "bindings.postgresql/v1",
			"docs-mqtt-binding":   "bindings.mqtt3/v1",
		}
		r := s.do("GET", "/v1.0/metadata", nil)
		var md struct {
			Components []struct {
				Name, Type, Version string
			} `json:"components"`
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &md) != nil {
			t.Fatalf("metadata: %d %s", r.Status, r.Body)
		}
		got := map[string]string{}
		for _, c := range md.Components {
			got[c.Name] = c.Type + "/" + c.Version
		}
		for name, tv := range want {
			if got[name] != tv {
				t.Errorf("component %s: listed as %q, want %q", name, got[name], tv)
			}
		}
	})

	t.Run("state.postgresql", func(t *testing.T) {
		wantStatus(t, "save", s.do("POST", "/v1.0/state/docs-pg-state", []byte(`[{"key":"order","value":{"id":7}}]`)), 204)
		r := s.do("GET", "/v1.0/state/docs-pg-state/order", nil)
		var v struct{ ID int }
		// jsonb keeps the value's meaning, not its spacing.
		if r.Status != 200 || json.Unmarshal(r.Body, &v) != nil || v.ID != 7 || r.Header.Get("ETag") == "" {
			t.Errorf("get: %d %q etag %q", r.Status, r.Body, r.Header.Get("ETag"))
		}
		conn, err := pgx.Connect(ctx, pg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+stateTable+" WHERE key = $1", appID+"||order").Scan(&n); err != nil || n != 1 {
			t.Errorf("row in %s: %d (%v)", stateTable, n, err)
		}
	})

	t.Run("pubsub.jetstream", func(t *testing.T) {
		s.publish(t, "jetstream-pubsub", jsTopic, `{"n":1}`, "Content-Type", "application/json")
		st, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil || info.State.Msgs != 1 {
			t.Fatalf("stream %s: %+v (%v), want 1 message", stream, info, err)
		}
		m, err := st.GetMsg(ctx, 1)
		if err != nil || !strings.Contains(string(m.Data), `"data":{"n":1}`) {
			t.Errorf("stored message: %v %s", err, msgData(m))
		}
		delivered(t, "/js", `"data":{"n":1}`)
	})

	t.Run("pubsub.rabbitmq", func(t *testing.T) {
		s.publish(t, "rabbitmq-pubsub", rmqTopic, `{"n":2}`, "Content-Type", "application/json")
		delivered(t, "/rmq", `"data":{"n":2}`)
	})

	t.Run("pubsub.mqtt3", func(t *testing.T) {
		got := make(chan string, 4)
		o := paho.NewClientOptions().AddBroker(mqttU).SetClientID(conformance.UniqueName("docs-sub-")).SetConnectTimeout(10 * time.Second)
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		defer c.Disconnect(100)
		if tok := c.Subscribe(mqttTopic, 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		s.publish(t, "mqtt-pubsub", mqttTopic, `{"n":3}`, "Content-Type", "application/json")
		select {
		case m := <-got:
			if !strings.Contains(m, `"data":{"n":3}`) {
				t.Errorf("message %s", m)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no message on the broker within 20s")
		}
		delivered(t, "/mqtt", `"data":{"n":3}`)
	})

	t.Run("configuration.redis", func(t *testing.T) {
		key := keyPrefix + "color"
		if err := rc.Do(ctx, rc.B().Set().Key(key).Value("blue||1").Build()).Error(); err != nil {
			t.Fatal(err)
		}
		wantBody(t, "get", s.do("GET", "/v1.0/configuration/docs-redis-config?key="+key, nil), 200,
			`{"`+key+`":{"value":"blue","version":"1"}}`+"\n")
	})

	t.Run("lock.redis", func(t *testing.T) {
		res := keyPrefix + "res"
		wantBody(t, "lock", s.do("POST", "/v1.0-alpha1/lock/docs-redis-lock", []byte(`{"resourceId":"`+res+`","lockOwner":"alice","expiryInSeconds":30}`)), 200, `{"success":true}`)
		wantBody(t, "contend", s.do("POST", "/v1.0-alpha1/lock/docs-redis-lock", []byte(`{"resourceId":"`+res+`","lockOwner":"bob","expiryInSeconds":30}`)), 200, `{"success":false}`)
		wantBody(t, "unlock", s.do("POST", "/v1.0-alpha1/unlock/docs-redis-lock", []byte(`{"resourceId":"`+res+`","lockOwner":"alice"}`)), 200, `{"status":0}`)
	})

	t.Run("bindings.redis", func(t *testing.T) {
		key := keyPrefix + "kv"
		wantStatus(t, "create", s.do("POST", "/v1.0/bindings/docs-redis-binding", []byte(`{"operation":"create","data":{"a":1},"metadata":{"key":"`+key+`"}}`)), 204)
		if v, err := rc.Do(ctx, rc.B().Get().Key(key).Build()).ToString(); err != nil || v != `{"a":1}` {
			t.Errorf("stored %q (%v)", v, err)
		}
		wantBody(t, "get", s.do("POST", "/v1.0/bindings/docs-redis-binding", []byte(`{"operation":"get","metadata":{"key":"`+key+`"}}`)), 200, `{"a":1}`)
		wantStatus(t, "delete", s.do("POST", "/v1.0/bindings/docs-redis-binding", []byte(`{"operation":"delete","metadata":{"key":"`+key+`"}}`)), 204)
	})

	t.Run("bindings.postgresql", func(t *testing.T) {
		call := func(name, op string, md map[string]string) Resp {
			b, _ := json.Marshal(map[string]any{"operation": op, "metadata": md})
			return s.do("POST", "/v1.0/bindings/"+name, b)
		}
		wantStatus(t, "create table", call("docs-pg-binding", "exec", map[string]string{"sql": "CREATE TABLE " + bindTable + " (id int primary key, name text)"}), 200)
		r := call("docs-pg-binding", "exec", map[string]string{"sql": "INSERT INTO " + bindTable + " (id, name) VALUES ($1, $2)", "params": `[1, "ann"]`})
		if r.Status != 200 || r.Header.Get("Metadata.rows-affected") != "1" {
			t.Errorf("insert: %d %s rows-affected %q", r.Status, r.Body, r.Header.Get("Metadata.rows-affected"))
		}
		for _, name := range []string{"docs-pg-binding", "docs-pg-binding-url"} {
			wantBody(t, name+" query", call(name, "query", map[string]string{"sql": "SELECT id, name FROM " + bindTable}), 200, `[[1,"ann"]]`)
		}
	})

	t.Run("bindings.mqtt3", func(t *testing.T) {
		// Output to the component's topic, input from it to the app at
		// /docs-mqtt-binding. The input side subscribes once connected:
		// send until a message arrives, then one more that must arrive.
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; len(app.events("POST", "/docs-mqtt-binding")) == 0; i++ {
			if time.Now().After(deadline) {
				t.Fatalf("nothing delivered to the app within 30s; stderr:\n%s", tail(s.Stderr(), 2000))
			}
			wantStatus(t, "create", s.do("POST", "/v1.0/bindings/docs-mqtt-binding", []byte(fmt.Sprintf(`{"operation":"create","data":{"probe":%d}}`, i))), 204)
			time.Sleep(200 * time.Millisecond)
		}
		wantStatus(t, "create", s.do("POST", "/v1.0/bindings/docs-mqtt-binding", []byte(`{"operation":"create","data":{"n":4}}`)), 204)
		pollUntil(t, 20*time.Second, "the message at the app", func() bool {
			for _, e := range app.events("POST", "/docs-mqtt-binding") {
				if string(e.Body) == `{"n":4}` {
					return true
				}
			}
			return false
		})
	})

	if t.Failed() {
		t.Logf("skiffd stderr:\n%s", tail(s.Stderr(), 4000))
	}
}

// msgData is a stored JetStream message's payload for error messages.
func msgData(m *natsjs.RawStreamMsg) string {
	if m == nil {
		return "<nil>"
	}
	return string(m.Data)
}

// docsDeleteAMQP removes exchanges and queues (one channel each: a failed
// delete closes its channel).
func docsDeleteAMQP(url string, exchanges, queues []string) {
	c, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer c.Close()
	for _, q := range queues {
		if ch, err := c.Channel(); err == nil {
			_, _ = ch.QueueDelete(q, false, false, false)
			_ = ch.Close()
		}
	}
	for _, x := range exchanges {
		if ch, err := c.Channel(); err == nil {
			_ = ch.ExchangeDelete(x, false, false)
			_ = ch.Close()
		}
	}
}
