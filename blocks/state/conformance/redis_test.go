package conformance_test

import (
	"context"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/conformance"
	"github.com/skiffd/skiff/blocks/state/redis"
)

func TestRedis(t *testing.T) {
	addr := conformance.Service(t, "Redis", "SKIFF_REDIS_ADDR", "127.0.0.1:6379", "")
	conformance.Run(t, func(t *testing.T) state.Store {
		s, err := redis.New("conformance", map[string]string{"redisHost": addr})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.(*state.Lazy).Wait(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}, conformance.Options{TTLGranularity: time.Second})
}
