package blackbox

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// TestBindingsPostgres: bindings.postgresql (and daprd's name
// bindings.postgres) through /v1.0/bindings/{name}: exec with params answers
// 200 with daprd's metadata headers, query answers the rows as daprd's JSON
// array of arrays, bad input is daprd's 500 ERR_INVOKE_OUTPUT_BINDING, and
// what skiffd wrote is what a plain client reads.
func TestBindingsPostgres(t *testing.T) {
	t.Parallel()
	url := pgURL(t)
	table := conformance.UniqueName("skiff_bb_")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, url); err == nil {
			_, _ = c.Exec(ctx, "DROP TABLE IF EXISTS "+table)
			c.Close(ctx)
		}
	})
	dir := t.TempDir()
	writeFile(t, dir, "pg.yaml", bindingYAML("db", "bindings.postgresql", "connectionString", url)+
		"---\n"+bindingYAML("db2", "bindings.postgres", "connectionString", url))
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})
	call := func(name, body string) Resp { return s.do("POST", "/v1.0/bindings/"+name, []byte(body)) }
	meta := func(md map[string]string) string { b, _ := json.Marshal(md); return string(b) }

	r := call("db", `{"operation":"exec","metadata":`+meta(map[string]string{"sql": "CREATE TABLE " + table + " (id int primary key, name text)"})+`}`)
	wantStatus(t, "create table", r, 200)
	r = call("db", `{"operation":"exec","metadata":`+meta(map[string]string{
		"sql": "INSERT INTO " + table + " (id, name) VALUES ($1, $2), ($3, $4)", "params": `[1, "ann", 2, "bob"]`})+`}`)
	wantStatus(t, "insert", r, 200)
	if got := r.Header.Get("Metadata.rows-affected"); got != "2" {
		t.Fatalf("Metadata.rows-affected %q; headers %v", got, r.Header)
	}
	for _, h := range []string{"Metadata.operation", "Metadata.sql", "Metadata.start-time", "Metadata.end-time", "Metadata.duration"} {
		if r.Header.Get(h) == "" {
			t.Errorf("no %s header; headers %v", h, r.Header)
		}
	}
	r = call("db2", `{"operation":"query","metadata":`+meta(map[string]string{"sql": "SELECT id, name FROM " + table + " ORDER BY id"})+`}`)
	wantStatus(t, "query", r, 200)
	if string(r.Body) != `[[1,"ann"],[2,"bob"]]` {
		t.Fatalf("query answered %s", r.Body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 2 {
		t.Fatalf("plain count %d, %v", n, err)
	}

	// Bad input.
	wantAPIError(t, "no sql", call("db", `{"operation":"exec"}`), 500, "ERR_INVOKE_OUTPUT_BINDING",
		"error invoking output binding db: required metadata not set: sql")
	wantAPIError(t, "bad params", call("db", `{"operation":"query","metadata":{"sql":"SELECT 1","params":"[1"}}`), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "invalid metadata property params")
	wantAPIError(t, "bad sql", call("db", `{"operation":"query","metadata":{"sql":"SELEC 1"}}`), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "error executing query")
	wantAPIError(t, "unsupported operation", call("db", `{"operation":"get","metadata":{"sql":"SELECT 1"}}`), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "does not support operation get")
	wantAPIError(t, "malformed body", call("db", `{"operation":`), 400, "ERR_MALFORMED_REQUEST")
	// A duplicate key: the database's error, and nothing changed.
	wantAPIError(t, "duplicate", call("db", `{"operation":"exec","metadata":`+meta(map[string]string{
		"sql": "INSERT INTO " + table + " (id, name) VALUES (1, 'again')"})+`}`), 500, "ERR_INVOKE_OUTPUT_BINDING", "error executing query")
	r = call("db", `{"operation":"query","metadata":`+meta(map[string]string{"sql": "SELECT name FROM " + table + " WHERE id = 1"})+`}`)
	if r.Status != 200 || string(r.Body) != `[["ann"]]` {
		t.Fatalf("after the refused insert: %d %s", r.Status, r.Body)
	}
}
