package redis

import (
	"testing"
	"time"
)

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata(map[string]string{
		"redisHost": "127.0.0.1:6379", "redisPassword": "pw", "redisUsername": "u", "redisDB": "3",
		"enableTLS": "true", "maxRetries": "-1", "maxRetryBackoff": "500", "poolSize": "20",
		"ttlInSeconds": "60", "dialTimeout": "2s", "actorStateStore": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Password != "pw" || m.Username != "u" || m.DB != 3 || !m.EnableTLS || m.MaxRetries != -1 ||
		m.MaxRetryBackoff != 500*time.Millisecond || m.PoolSize != 20 || m.TTL == nil || *m.TTL != 60 || m.DialTimeout != 2*time.Second {
		t.Fatalf("%+v", m)
	}
	o := m.ClientOption()
	if o.SelectDB != 3 || o.TLSConfig == nil || !o.DisableRetry || o.BlockingPoolSize != 20 || !o.DisableCache {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []map[string]string{
		{},
		{"redisHost": "h:1", "redisDB": "x"},
		{"redisHost": "h:1", "enableTLS": "maybe"},
		{"redisHost": "h:1", "ttlInSeconds": "1.5"},
		{"redisHost": "h:1", "dialTimeout": "soon"},
		{"redisHost": "h:1", "failover": "true"},
	} {
		if _, err := ParseMetadata(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}
