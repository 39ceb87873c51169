package blackbox

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// TestStatePostgresDocsComponent: the component YAML from Dapr's PostgreSQL
// state store page (v1) loads unchanged apart from the connection string and
// a table of the test's own; the schema is daprd's; rows written the daprd
// way are read back with their xmin etag and what skiffd writes is a plain
// jsonb row; the query API filters, sorts and pages.
func TestStatePostgresDocsComponent(t *testing.T) {
	t.Parallel()
	url := pgURL(t)
	table := conformance.UniqueName("bb_state_")
	meta := conformance.UniqueName("bb_meta_")
	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec(ctx, "DROP TABLE IF EXISTS "+table+", "+meta)
		db.Close(ctx)
	})
	dir := t.TempDir()
	writeFile(t, dir, "pg.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pgstore
spec:
  type: state.postgresql
  # Since v1.11, state stores can be versioned
  version: v1
  metadata:
    # Connection string
    - name: connectionString
      value: "`+url+`"
    # Timeout for database operations, as a Go duration or number of seconds (optional)
    - name: timeout
      value: 20
    # Name of the table where to store the state (optional)
    - name: tableName
      value: "`+table+`"
    # Name of the table where to store metadata used by Dapr (optional)
    - name: metadataTableName
      value: "`+meta+`"
    # Cleanup interval in seconds, to remove expired rows (optional)
    - name: cleanupInterval
      value: "1h"
    # Maximum number of connections pooled by this component (optional)
    #- name: maxConns
    #  value: 0
    # Uncomment this if you wish to use PostgreSQL as a state store for actors (optional)
    #- name: actorStateStore
    #  value: "true"
`)
	appID := conformance.UniqueName("pgdocs-")
	s := startSidecar(t, Opts{AppID: appID, Args: []string{"--resources-path", dir}})

	var level string
	if err := db.QueryRow(ctx, "SELECT value FROM "+meta+" WHERE key = 'migrations'").Scan(&level); err != nil || level != "3" {
		t.Fatalf("migrations level %q (%v), want 3", level, err)
	}
	var cols []string
	rows, _ := db.Query(ctx, "SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", table)
	for rows.Next() {
		var c string
		_ = rows.Scan(&c)
		cols = append(cols, c)
	}
	rows.Close()
	want := "key text,value jsonb,isbinary boolean,insertdate timestamp with time zone,updatedate timestamp with time zone,expiredate timestamp with time zone,row_id bigint"
	if strings.Join(cols, ",") != want {
		t.Fatalf("columns:\n%s\nwant\n%s", strings.Join(cols, ","), want)
	}

	wantStatus(t, "save", s.do("POST", "/v1.0/state/pgstore", []byte(`[{"key":"order","value":{"id":7,"item":"tea"}}]`)), 204)
	var raw, xmin string
	var isBinary bool
	if err := db.QueryRow(ctx, "SELECT value::text, isbinary, xmin::text FROM "+table+" WHERE key = $1", appID+"||order").Scan(&raw, &isBinary, &xmin); err != nil {
		t.Fatal(err)
	}
	if raw != `{"id": 7, "item": "tea"}` || isBinary {
		t.Fatalf("stored row: %s binary=%v", raw, isBinary)
	}
	r := s.do("GET", "/v1.0/state/pgstore/order", nil)
	if r.Status != 200 || r.Header.Get("ETag") != xmin {
		t.Fatalf("get: %d %q etag %q want %q", r.Status, r.Body, r.Header.Get("ETag"), xmin)
	}

	// Written the daprd way by plain SQL.
	if _, err := db.Exec(ctx, "INSERT INTO "+table+" (key, value, isbinary) VALUES ($1, $2, false)", appID+"||fromdaprd", `"hello"`); err != nil {
		t.Fatal(err)
	}
	_ = db.QueryRow(ctx, "SELECT xmin::text FROM "+table+" WHERE key = $1", appID+"||fromdaprd").Scan(&xmin)
	r = s.do("GET", "/v1.0/state/pgstore/fromdaprd", nil)
	if r.Status != 200 || string(r.Body) != `"hello"` || r.Header.Get("ETag") != xmin {
		t.Fatalf("get daprd-written row: %d %q etag %q", r.Status, r.Body, r.Header.Get("ETag"))
	}
	wantAPIError(t, "stale etag", s.do("POST", "/v1.0/state/pgstore", []byte(`[{"key":"fromdaprd","value":1,"etag":"1"}]`)), 409, "ERR_STATE_SAVE")
	wantAPIError(t, "bad etag", s.do("POST", "/v1.0/state/pgstore", []byte(`[{"key":"fromdaprd","value":1,"etag":"x"}]`)), 400, "ERR_STATE_SAVE")
	wantStatus(t, "save with etag", s.do("POST", "/v1.0/state/pgstore", []byte(`[{"key":"fromdaprd","value":2,"etag":"`+xmin+`"}]`)), 204)
	// An expired row written the daprd way is not served.
	_, _ = db.Exec(ctx, "INSERT INTO "+table+" (key, value, isbinary, expiredate) VALUES ($1, '1', false, now() - interval '1 minute')", appID+"||gone")
	wantStatus(t, "get expired", s.do("GET", "/v1.0/state/pgstore/gone", nil), 204)

	// Query API.
	var items []string
	for i, c := range []string{"CA", "WA", "CA", "NY", "CA"} {
		items = append(items, `{"key":"p`+string(rune('0'+i))+`","value":{"state":"`+c+`","n":`+string(rune('0'+i))+`}}`)
	}
	wantStatus(t, "save people", s.do("POST", "/v1.0/state/pgstore", []byte("["+strings.Join(items, ",")+"]")), 204)
	q := s.do("POST", "/v1.0-alpha1/state/pgstore/query", []byte(`{"filter":{"OR":[{"EQ":{"state":"CA"}},{"IN":{"state":["NY"]}}]},"sort":[{"key":"n","order":"DESC"}],"page":{"limit":3}}`))
	var res struct {
		Results []struct {
			Key  string          `json:"key"`
			Data json.RawMessage `json:"data"`
			ETag string          `json:"etag"`
		} `json:"results"`
		Token string `json:"token"`
	}
	if q.Status != 200 || json.Unmarshal(q.Body, &res) != nil {
		t.Fatalf("query: %d %s", q.Status, q.Body)
	}
	var keys []string
	for _, it := range res.Results {
		keys = append(keys, it.Key)
	}
	if strings.Join(keys, ",") != "p4,p3,p2" || res.Token != "3" || res.Results[0].ETag == "" {
		t.Fatalf("query page 1: %s", q.Body)
	}
	q = s.do("POST", "/v1.0-alpha1/state/pgstore/query", []byte(`{"filter":{"OR":[{"EQ":{"state":"CA"}},{"IN":{"state":["NY"]}}]},"sort":[{"key":"n","order":"DESC"}],"page":{"limit":3,"token":"3"}}`))
	if q.Status != 200 || !strings.Contains(string(q.Body), `"key":"p0"`) || strings.Contains(string(q.Body), `"key":"p2"`) {
		t.Fatalf("query page 2: %d %s", q.Status, q.Body)
	}
	wantAPIError(t, "bad query", s.do("POST", "/v1.0-alpha1/state/pgstore/query", []byte(`{"filter":{"FOO":{"a":1}}}`)), 500, "ERR_STATE_QUERY")
}

// TestStatePostgresV2Refused: daprd's state.postgresql v2 uses another
// schema; skiffd refuses it at startup (the loader knows v1 only) instead of writing v1 rows.
func TestStatePostgresV2Refused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "pg.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pgstore
spec:
  type: state.postgresql
  version: v2
  metadata:
  - name: connectionString
    value: "host=127.0.0.1 user=postgres database=test"
`)
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}, NoWait: true})
	code, ok := s.WaitExit(20 * time.Second)
	if !ok || code == 0 || !strings.Contains(s.Stderr(), "has no version v2") {
		t.Fatalf("exit %d (%v); stderr:\n%s", code, ok, s.Stderr())
	}
	s.MarkStopped()
}
