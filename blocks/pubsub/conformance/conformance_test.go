package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/jetstream"
	"github.com/skiffd/skiff/blocks/pubsub/memory"
	"github.com/skiffd/skiff/blocks/pubsub/mqtt3"
	"github.com/skiffd/skiff/blocks/pubsub/rabbitmq"
	psredis "github.com/skiffd/skiff/blocks/pubsub/redis"
)

func TestMemory(t *testing.T) {
	Run(t, Harness{
		New: func(t *testing.T) pubsub.PubSub {
			b, err := memory.New("conf", nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		Ordered: true,
	})
}

// TestRedisStreams: concurrency 1 keeps the stream's order.
func TestRedisStreams(t *testing.T) { redisStreams(t, "1", true) }

// TestRedisStreamsConcurrent: daprd's default concurrency (10): every
// message arrives, in no promised order.
func TestRedisStreamsConcurrent(t *testing.T) { redisStreams(t, "", false) }

func redisStreams(t *testing.T, concurrency string, ordered bool) {
	addr := Service(t, "SKIFF_REDIS_ADDR", "Redis")
	cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	defer cl.Close()
	Run(t, Harness{
		New: func(t *testing.T) pubsub.PubSub {
			s, err := psredis.New("conf", map[string]string{
				"redisHost": addr, "consumerID": "conf", "redeliverInterval": "200ms", "processingTimeout": "2s",
				"concurrency": concurrency,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Cleanup: func(topic string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cl.Do(ctx, cl.B().Del().Key(topic).Build())
		},
		Ordered: ordered,
		Durable: true,
	})
}

func TestJetStream(t *testing.T) {
	url := Service(t, "SKIFF_NATS_URL", "NATS JetStream")
	streams := map[string]string{}
	Run(t, Harness{
		// One stream per test (a restart test opens the component twice
		// on the same stream and consumer).
		New: func(t *testing.T) pubsub.PubSub {
			stream, ok := streams[t.Name()]
			if !ok {
				stream = Topic("skiff-conf")
				streams[t.Name()] = stream
				t.Cleanup(func() { deleteStream(url, stream) })
			}
			j, err := jetstream.New("conf", map[string]string{
				"natsURL": url, "streamName": stream, "skiffCreateStream": "true", "consumerID": "conf", "ackWait": "5s",
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return j
		},
		Ordered: true,
		Durable: true,
	})
}

func deleteStream(url, name string) {
	nc, err := nats.Connect(url)
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = js.DeleteStream(ctx, name)
}

// TestRabbitMQ: concurrencyMode single keeps the queue's order.
func TestRabbitMQ(t *testing.T) { rabbitMQ(t, "single", true) }

// TestRabbitMQParallel: concurrencyMode parallel (daprd's default): every
// message arrives, in no promised order.
func TestRabbitMQParallel(t *testing.T) { rabbitMQ(t, "parallel", false) }

func rabbitMQ(t *testing.T, mode string, ordered bool) {
	url := Service(t, "SKIFF_AMQP_URL", "RabbitMQ")
	Run(t, Harness{
		New: func(t *testing.T) pubsub.PubSub {
			r, err := rabbitmq.New("conf", map[string]string{
				"connectionString": url, "consumerID": "conf", "requeueInFailure": "true", "prefetchCount": "64",
				"concurrencyMode": mode, "publisherConfirm": "true",
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		// Queue and exchange are auto-deleted (deletedWhenUnused, daprd's
		// default) once the component closes; delete them anyway.
		Cleanup: func(topic string) {
			c, err := amqp.Dial(url)
			if err != nil {
				return
			}
			defer c.Close()
			ch, err := c.Channel()
			if err != nil {
				return
			}
			_, _ = ch.QueueDelete("conf-"+topic, false, false, false)
			_ = ch.ExchangeDelete(topic, false, false)
		},
		Ordered: ordered,
	})
}

func TestMQTT3(t *testing.T) {
	addr := Service(t, "SKIFF_MQTT_ADDR", "Mosquitto (MQTT)")
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	Run(t, Harness{
		New: func(t *testing.T) pubsub.PubSub {
			m, err := mqtt3.New("conf", map[string]string{"url": addr, "consumerID": Topic("conf"), "cleanSession": "true"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for m.Ready() != nil && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			return m
		},
		Ordered: true,
	})
}

// TestJetStreamParallel: concurrency: parallel (daprd's option), no order.
func TestJetStreamParallel(t *testing.T) {
	url := Service(t, "SKIFF_NATS_URL", "NATS JetStream")
	Run(t, Harness{
		New: func(t *testing.T) pubsub.PubSub {
			stream := Topic("skiff-conf")
			j, err := jetstream.New("conf", map[string]string{
				"natsURL": url, "streamName": stream, "skiffCreateStream": "true", "consumerID": "conf", "concurrency": "parallel",
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { deleteStream(url, stream) })
			return j
		},
	})
}
