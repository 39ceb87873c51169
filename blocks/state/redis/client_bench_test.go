package redis

import (
	"context"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/state"
)

// The client choice (bench/RESULTS.md): the state store's read (HMGET data
// version + TTL in one round trip) from 64 concurrent goroutines, as the
// worker pool / batcher issue them, with rueidis (auto-pipelining: concurrent
// calls share connections and flushes) and go-redis (a pooled connection
// per call, one pipeline of two commands). Run:
//
//	go test -run '^$' -bench Client -benchtime 3s ./blocks/state/redis/
//
// ns/op is wall time per read across all goroutines (lower is more
// throughput); the CPU per read is what the benchmark prints as cpu-us/op.

func benchAddr(b *testing.B) string {
	addr := os.Getenv("SKIFF_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	return addr
}

const benchKey = "skiff-client-bench||k1"

func seed(b *testing.B, addr string) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		b.Skipf("redis: %v", err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Hset().Key(benchKey).FieldValue().FieldValue("data", `{"a":1}`).FieldValue("version", "1").Build()).Error(); err != nil {
		b.Skipf("redis: %v", err)
	}
}

func cpuTime() time.Duration {
	var ru syscallRusage
	getrusage(&ru)
	return ru
}

func runParallel(b *testing.B, read func(ctx context.Context) error) {
	b.SetParallelism(32) // 64 goroutines on 2 CPUs
	b.ReportAllocs()
	start := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := read(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-us/op")
}

func BenchmarkClientRueidis(b *testing.B) {
	for _, delay := range []time.Duration{0, 20 * time.Microsecond} {
		b.Run("flush="+delay.String(), func(b *testing.B) {
			addr := benchAddr(b)
			seed(b, addr)
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, MaxFlushDelay: delay})
			if err != nil {
				b.Skip(err)
			}
			defer c.Close()
			runParallel(b, func(ctx context.Context) error {
				res := c.DoMulti(ctx, c.B().Hmget().Key(benchKey).Field("data", "version").Build(), c.B().Ttl().Key(benchKey).Build())
				return res[0].Error()
			})
		})
	}
}

// BenchmarkClientRueidisBatched is the store's own read path: GetAsync
// through the GetBatcher, one DoMulti per batch of waiting reads.
func BenchmarkClientRueidisBatched(b *testing.B) {
	addr := benchAddr(b)
	seed(b, addr)
	md, _ := ParseMetadata(map[string]string{"redisHost": addr})
	s, err := Open(context.Background(), md)
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	runParallel(b, func(ctx context.Context) error {
		ch := make(chan error, 1)
		s.GetAsync(benchKey, func(_ state.GetResponse, err error) { ch <- err })
		return <-ch
	})
}

func BenchmarkClientGoRedis(b *testing.B) {
	addr := benchAddr(b)
	seed(b, addr)
	c := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 64})
	defer c.Close()
	runParallel(b, func(ctx context.Context) error {
		var hm *goredis.SliceCmd
		_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			hm = p.HMGet(ctx, benchKey, "data", "version")
			p.TTL(ctx, benchKey)
			return nil
		})
		if err != nil {
			return err
		}
		return hm.Err()
	})
}

// BenchmarkBatchRead is one batch worker's round trip for 16 keys, without
// the hand-offs around it: allocations per batch come from rueidis's reply
// parsing (an array and two strings per key) and the results slice.
func BenchmarkBatchRead(b *testing.B) {
	addr := benchAddr(b)
	seed(b, addr)
	md, _ := ParseMetadata(map[string]string{"redisHost": addr})
	s, err := Open(context.Background(), md)
	if err != nil {
		b.Skip(err)
	}
	defer s.Close()
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = benchKey
	}
	out := make([]state.GetResponse, len(keys))
	errs := make([]error, len(keys))
	r := s.readers[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r.read(ctx, keys, out, errs)
		if errs[0] != nil || !out[0].Found {
			b.Fatal(errs[0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
}
