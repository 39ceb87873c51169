package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
)

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"20": 20 * time.Second, "1m": time.Minute, "500ms": 500 * time.Millisecond} {
		if d, err := duration(in); err != nil || d != want {
			t.Errorf("duration(%q) = %v, %v", in, d, err)
		}
	}
	if _, err := duration("soon"); err == nil {
		t.Error("duration(soon) accepted")
	}
}

// Bad input is refused before the database is needed; close works on a
// binding that never connected.
func TestRefusedBeforeConnecting(t *testing.T) {
	b, err := New("x", map[string]string{"connectionString": "postgres://u@127.0.0.1:1/db?connect_timeout=1", "timeout": "1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		md   map[string]string
		want string
	}{
		{map[string]string{}, "required metadata not set: sql"},
		{map[string]string{"sql": "SELECT 1", "params": "1"}, "invalid metadata property params"},
	} {
		_, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: OpQuery, Metadata: c.md})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.md, err)
		}
	}
	if _, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: OpClose, Metadata: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: OpExec, Metadata: map[string]string{"sql": "x"}}); err == nil || err.Error() != "component is closed" {
		t.Fatalf("after close: %v", err)
	}
	if err := b.Ready(); err != nil {
		t.Fatalf("Ready after close: %v", err)
	}
}

// The metadata as Dapr's documentation writes it: url is an alias of
// connectionString (older pages use it), and maxConns or
// connectionMaxIdleTime of 0 or less leave pgx's defaults, as in daprd.
func TestParseConfigDocumented(t *testing.T) {
	def, _, err := parseConfig(map[string]string{"connectionString": "host=127.0.0.1 user=u dbname=d"})
	if err != nil {
		t.Fatal(err)
	}
	for _, md := range []map[string]string{
		{"url": "user=u host=127.0.0.1 port=5432 dbname=d sslmode=disable"},
		{"URL": "postgres://u@127.0.0.1:5432/d", "maxConns": "0", "connectionMaxIdleTime": "0"},
		{"connectionString": "host=127.0.0.1 user=u dbname=d", "maxConns": "-1", "connectionMaxIdleTime": "-1s"},
	} {
		cfg, timeout, err := parseConfig(md)
		if err != nil {
			t.Fatalf("%v: %v", md, err)
		}
		if cfg.ConnConfig.Host != "127.0.0.1" || cfg.ConnConfig.User != "u" || cfg.ConnConfig.Database != "d" {
			t.Errorf("%v: connection %s@%s/%s", md, cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database)
		}
		if cfg.MaxConns != def.MaxConns || cfg.MaxConnIdleTime != def.MaxConnIdleTime || timeout != defaultTimeout {
			t.Errorf("%v: maxConns %d idle %v timeout %v, want the defaults %d %v %v",
				md, cfg.MaxConns, cfg.MaxConnIdleTime, timeout, def.MaxConns, def.MaxConnIdleTime, defaultTimeout)
		}
	}
	// connectionString wins over url; set values apply.
	cfg, timeout, err := parseConfig(map[string]string{"connectionString": "host=a user=u", "url": "host=b user=u",
		"maxConns": "3", "connectionMaxIdleTime": "5m", "timeout": "30s", "queryExecMode": "cache_describe"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnConfig.Host != "a" || cfg.MaxConns != 3 || cfg.MaxConnIdleTime != 5*time.Minute || timeout != 30*time.Second {
		t.Errorf("host %s maxConns %d idle %v timeout %v", cfg.ConnConfig.Host, cfg.MaxConns, cfg.MaxConnIdleTime, timeout)
	}
	for _, md := range []map[string]string{
		{},
		{"url": ""},
		{"url": "host=a", "maxConns": "many"},
		{"url": "host=a", "connectionMaxIdleTime": "soon"},
		{"url": "host=a", "queryExecMode": "fast"},
	} {
		if _, _, err := parseConfig(md); err == nil {
			t.Errorf("%v accepted", md)
		}
	}
}
