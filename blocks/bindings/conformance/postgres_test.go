package conformance

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/skiffd/skiff/blocks/bindings/postgres"
	stateconf "github.com/skiffd/skiff/blocks/state/conformance"
)

const pgDefault = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func pgURL(t *testing.T) string {
	u := pgDefault
	if v := getenv("SKIFF_PG_URL"); v != "" {
		u = v
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatalf("SKIFF_PG_URL: %v", err)
	}
	return stateconf.Service(t, "PostgreSQL", "SKIFF_PG_URL", pgDefault, cfg.Host+":"+itoa(int(cfg.Port)))
}

func TestPostgres(t *testing.T) {
	url := pgURL(t)
	b, err := postgres.New("pgbind", map[string]string{"connectionString": url, "queryExecMode": "simple_protocol", "maxConns": "4", "timeout": "20s"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	WaitReady(t, b)
	Operations(t, b, "exec", "query", "close")
	table := stateconf.UniqueName("skiff_bind_")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, url); err == nil {
			_, _ = c.Exec(ctx, "DROP TABLE IF EXISTS "+table)
			c.Close(ctx)
		}
	})

	r := MustInvoke(t, b, "exec", nil, map[string]string{"sql": "CREATE TABLE " + table + " (id int primary key, name text, score numeric, born timestamptz, ok boolean)"})
	for _, k := range []string{"operation", "sql", "start-time", "end-time", "duration", "rows-affected"} {
		if _, ok := r.Metadata[k]; !ok {
			t.Fatalf("exec metadata %v lacks %s", r.Metadata, k)
		}
	}
	if r.Data != nil {
		t.Fatalf("exec answered data %q", r.Data)
	}
	r = MustInvoke(t, b, "exec", nil, map[string]string{
		"sql":    "INSERT INTO " + table + " (id, name, score, born, ok) VALUES ($1, $2, $3, $4, $5), ($6, $7, NULL, NULL, NULL)",
		"params": `[1, "ann", 1.5, "2024-01-02T03:04:05Z", true, 2, "bob"]`,
	})
	if r.Metadata["rows-affected"] != "2" || r.Metadata["operation"] != "exec" {
		t.Fatalf("insert metadata %v", r.Metadata)
	}

	t.Run("query: an array of arrays", func(t *testing.T) {
		r := MustInvoke(t, b, "query", nil, map[string]string{"sql": "SELECT id, name, score, born, ok FROM " + table + " WHERE id >= $1 ORDER BY id", "params": "[1]"})
		var rows [][]any
		if err := json.Unmarshal(r.Data, &rows); err != nil {
			t.Fatalf("query answered %s: %v", r.Data, err)
		}
		want := `[[1,"ann",1.5,"2024-01-02T03:04:05Z",true],[2,"bob",null,null,null]]`
		var w [][]any
		_ = json.Unmarshal([]byte(want), &w)
		if len(rows) != 2 || len(rows[0]) != 5 {
			t.Fatalf("query answered %s, want %s", r.Data, want)
		}
		if rows[0][0] != w[0][0] || rows[0][1] != w[0][1] || rows[0][2] != w[0][2] || rows[0][4] != w[0][4] || rows[1][1] != "bob" || rows[1][2] != nil {
			t.Fatalf("query answered %s, want %s", r.Data, want)
		}
		born, err := time.Parse(time.RFC3339, rows[0][3].(string))
		if err != nil || !born.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Fatalf("born %v", rows[0][3])
		}
		if r.Metadata["operation"] != "query" || r.Metadata["sql"] == "" {
			t.Fatalf("query metadata %v", r.Metadata)
		}
		// No rows: an empty array, not null.
		r = MustInvoke(t, b, "query", nil, map[string]string{"sql": "SELECT id FROM " + table + " WHERE id < 0"})
		if string(r.Data) != "[]" {
			t.Fatalf("empty query answered %s", r.Data)
		}
	})

	t.Run("interop: rows written by a plain client", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "INSERT INTO "+table+" (id, name) VALUES (3, 'cy')"); err != nil {
			t.Fatal(err)
		}
		r := MustInvoke(t, b, "query", nil, map[string]string{"sql": "SELECT name FROM " + table + " WHERE id = 3"})
		if string(r.Data) != `[["cy"]]` {
			t.Fatalf("query answered %s", r.Data)
		}
		MustInvoke(t, b, "exec", nil, map[string]string{"sql": "UPDATE " + table + " SET name = $1 WHERE id = 3", "params": `["dee"]`})
		var name string
		if err := c.QueryRow(ctx, "SELECT name FROM "+table+" WHERE id = 3").Scan(&name); err != nil || name != "dee" {
			t.Fatalf("plain read %q, %v", name, err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			op   string
			md   map[string]string
			want string
		}{
			{"exec", map[string]string{}, "required metadata not set: sql"},
			{"query", map[string]string{"sql": "SELECT 1", "params": "{"}, "invalid metadata property params"},
			{"query", map[string]string{"sql": "SELECT 1", "params": `{"a":1}`}, "invalid metadata property params"},
			{"exec", map[string]string{"sql": "INSERT INTO " + table + " (id) VALUES (1)"}, "error executing query"},
			{"query", map[string]string{"sql": "SELEC nonsense"}, "error executing query"},
		}
		for _, c := range cases {
			_, err := Invoke(t, b, c.op, nil, c.md)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s %v: %v, want %q", c.op, c.md, err, c.want)
			}
		}
	})

	t.Run("close", func(t *testing.T) {
		if r, err := Invoke(t, b, "close", nil, nil); err != nil || r != nil {
			t.Fatalf("close: %+v, %v", r, err)
		}
		if _, err := Invoke(t, b, "query", nil, map[string]string{"sql": "SELECT 1"}); err == nil || err.Error() != "component is closed" {
			t.Fatalf("query after close: %v", err)
		}
		if _, err := Invoke(t, b, "close", nil, nil); err != nil {
			t.Fatalf("second close: %v", err)
		}
	})
}

func TestPostgresDown(t *testing.T) {
	b, err := postgres.New("pgdown", map[string]string{"connectionString": "postgres://postgres@" + DeadAddr() + "/test?sslmode=disable&connect_timeout=1", "timeout": "1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = b.Wait(ctx)
	Down(t, b, "query", map[string]string{"sql": "SELECT 1"})
}

func TestPostgresBadMetadata(t *testing.T) {
	for _, md := range []map[string]string{{}, {"connectionString": "postgres://x/y", "timeout": "soon"}, {"connectionString": "not a = 'dsn"}, {"connectionString": "postgres://x/y", "queryExecMode": "fast"}} {
		if b, err := postgres.New("bad", md); err == nil {
			b.Close()
			t.Fatalf("metadata %v accepted", md)
		}
	}
}
