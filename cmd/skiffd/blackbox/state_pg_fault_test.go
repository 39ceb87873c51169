package blackbox

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// pgStart is services.md's command; pgStop stops the same cluster (fast
// shutdown: committed transactions are durable).
const (
	pgStart = `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`
	pgStop  = `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main stop -m fast`
)

// TestFaultStatePostgresRestart: the shared PostgreSQL is stopped in the
// middle of a save load and started again with services.md's command;
// skiffd answers clear 500s meanwhile, recovers by itself, and every
// acknowledged write is in the table.
func TestFaultStatePostgresRestart(t *testing.T) {
	needFaults(t)
	url := pgURL(t)
	const pgAddr = "127.0.0.1:5432"
	defer func() {
		if !portUp(pgAddr) {
			if out, err := run(pgStart); err != nil {
				t.Errorf("restarting postgresql: %v %s", err, out)
			}
			pollUntil(t, 60*time.Second, "postgresql back", func() bool { return portUp(pgAddr) })
		}
	}()
	table := conformance.UniqueName("fault_state_")
	meta := conformance.UniqueName("fault_meta_")
	dir := t.TempDir()
	writeFile(t, dir, "pg.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.postgresql
  version: v1
  metadata:
  - name: connectionString
    value: "`+url+`"
  - name: tableName
    value: `+table+`
  - name: metadataTableName
    value: `+meta+`
  - name: timeout
    value: "5"
`)
	appID := conformance.UniqueName("pgfault-")
	s := startSidecar(t, Opts{AppID: appID, Args: []string{"--resources-path", dir}})
	ctx := context.Background()
	t.Cleanup(func() {
		pollUntil(t, 60*time.Second, "postgresql for cleanup", func() bool { return portUp(pgAddr) })
		if db, err := pgx.Connect(ctx, url); err == nil {
			_, _ = db.Exec(ctx, "DROP TABLE IF EXISTS "+table+", "+meta)
			db.Close(ctx)
		}
	})

	l := startFaultLoad(s, "statestore", 8)
	defer l.finish()
	l.waitOK(t, time.Now(), 20*time.Second, "writes before the outage")
	time.Sleep(500 * time.Millisecond)
	if out, err := run(pgStop); err != nil {
		t.Fatalf("stopping postgresql: %v %s", err, out)
	}
	l.waitFailures(t, 5, 30*time.Second)
	time.Sleep(time.Second)
	if out, err := run(pgStart); err != nil {
		t.Fatalf("starting postgresql: %v %s", err, out)
	}
	l.waitOK(t, time.Now(), 60*time.Second, "writes after the restart")
	time.Sleep(500 * time.Millisecond)
	l.finish()
	l.report(t)

	var db *pgx.Conn
	pollUntil(t, 30*time.Second, "a connection to check the table", func() bool {
		var err error
		db, err = pgx.Connect(ctx, url)
		return err == nil
	})
	defer db.Close(ctx)
	rows, err := db.Query(ctx, "SELECT key, value::text FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		got[k] = v
	}
	rows.Close()
	lost := 0
	for k, v := range l.acked {
		if got[appID+"||"+k] != v {
			if lost == 0 {
				t.Errorf("acknowledged write %s=%s reads back %q", k, v, got[appID+"||"+k])
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(l.acked))
	}
}
