package conformance_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/conformance"
	"github.com/skiffd/skiff/blocks/state/postgresql"
)

func TestPostgreSQL(t *testing.T) {
	url := conformance.Service(t, "PostgreSQL", "SKIFF_PG_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "127.0.0.1:5432")
	table := conformance.UniqueName("conf_state_")
	meta := conformance.UniqueName("conf_meta_")
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP TABLE IF EXISTS "+table+", "+meta)
	})
	conformance.Run(t, func(t *testing.T) state.Store {
		s, err := postgresql.New("conformance", map[string]string{
			"connectionString": url, "tableName": table, "metadataTableName": meta,
		})
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

// TestPostgreSQLCleanup: the expiry job deletes expired rows and records
// last-cleanup; a second round within the interval leaves the work to
// whoever ran the first (daprd's coordination between sidecars).
func TestPostgreSQLCleanup(t *testing.T) {
	url := conformance.Service(t, "PostgreSQL", "SKIFF_PG_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "127.0.0.1:5432")
	table := conformance.UniqueName("conf_gc_")
	meta := conformance.UniqueName("conf_gcmeta_")
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	t.Cleanup(func() { _, _ = c.Exec(ctx, "DROP TABLE IF EXISTS "+table+", "+meta) })
	md, err := postgresql.ParseMetadata(map[string]string{"connectionString": url, "tableName": table, "metadataTableName": meta, "cleanupIntervalInSeconds": "3600"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgresql.Open(ctx, md)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Set(ctx, &state.SetRequest{Key: "a", Value: []byte(`1`), Metadata: map[string]string{"ttlInSeconds": "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, &state.SetRequest{Key: "b", Value: []byte(`2`)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var n int64
	for n == 0 {
		if time.Now().After(deadline) {
			t.Fatal("expired row never cleaned")
		}
		time.Sleep(200 * time.Millisecond)
		var expired bool
		_ = c.QueryRow(ctx, "SELECT expiredate < now() FROM "+table+" WHERE key = 'a'").Scan(&expired)
		if !expired {
			continue
		}
		if n, err = s.CleanupExpired(ctx); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("first cleanup round deleted nothing")
		}
	}
	var rows int
	_ = c.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&rows)
	var last string
	_ = c.QueryRow(ctx, "SELECT value FROM "+meta+" WHERE key = 'last-cleanup'").Scan(&last)
	if rows != 1 || last == "" {
		t.Fatalf("rows %d, last-cleanup %q", rows, last)
	}
	// Within the interval another round does nothing.
	if err := s.Set(ctx, &state.SetRequest{Key: "c", Value: []byte(`3`), Metadata: map[string]string{"ttlInSeconds": "1"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if n, err := s.CleanupExpired(ctx); err != nil || n != 0 {
		t.Fatalf("second round within the interval: %d %v", n, err)
	}
}

// TestPostgreSQLSharedMetadataTable: two stores with tables of their own and
// one metadata table; the second finds the migrations recorded as done and
// still gets its table.
func TestPostgreSQLSharedMetadataTable(t *testing.T) {
	url := conformance.Service(t, "PostgreSQL", "SKIFF_PG_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "127.0.0.1:5432")
	meta := conformance.UniqueName("conf_shmeta_")
	tables := []string{conformance.UniqueName("conf_sh1_"), conformance.UniqueName("conf_sh2_")}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	t.Cleanup(func() { _, _ = c.Exec(ctx, "DROP TABLE IF EXISTS "+tables[0]+", "+tables[1]+", "+meta) })
	for _, table := range tables {
		s, err := postgresql.New("shared", map[string]string{"connectionString": url, "tableName": table, "metadataTableName": meta})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = s.(*state.Lazy).Wait(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, &state.SetRequest{Key: "k", Value: []byte(`"v"`)}); err != nil {
			t.Errorf("save into %s: %v", table, err)
		}
		_ = s.Close()
	}
}
