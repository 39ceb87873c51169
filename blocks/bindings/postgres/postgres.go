package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/internal/lazy"
)

// daprd's operations.
const (
	OpExec  = "exec"
	OpQuery = "query"
	OpClose = "close"
)

// defaultTimeout is daprd's for connecting.
const defaultTimeout = 20 * time.Second

// execModes are pgx's query execution modes by the names Dapr's
// queryExecMode metadata takes.
var execModes = map[string]pgx.QueryExecMode{
	"cache_statement": pgx.QueryExecModeCacheStatement,
	"cache_describe":  pgx.QueryExecModeCacheDescribe,
	"describe_exec":   pgx.QueryExecModeDescribeExec,
	"exec":            pgx.QueryExecModeExec,
	"simple_protocol": pgx.QueryExecModeSimpleProtocol,
}

// Binding is one bindings.postgresql component.
type Binding struct {
	conn   *lazy.Conn[*pgxpool.Pool]
	closed atomic.Bool
}

// New parses the metadata and starts connecting in the background.
func New(name string, md map[string]string) (*Binding, error) {
	cfg, timeout, err := parseConfig(md)
	if err != nil {
		return nil, err
	}
	b := &Binding{}
	b.conn = lazy.New("postgres binding", func(ctx context.Context) (*pgxpool.Pool, error) {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		pool, err := pgxpool.NewWithConfig(cctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("unable to connect to the DB: %w", err)
		}
		if err := pool.Ping(cctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("failed to ping the DB: %w", err)
		}
		return pool, nil
	})
	return b, nil
}

// parseConfig reads the metadata as daprd does: the connection string is
// connectionString or its alias url (the name older releases of Dapr's
// documentation use); maxConns and connectionMaxIdleTime of 0 or less leave pgx's
// defaults ("0 or lower uses the default value"); timeout (or
// timeoutInSeconds) bounds connecting.
func parseConfig(md map[string]string) (*pgxpool.Config, time.Duration, error) {
	cs, _ := bindings.Lookup(md, "connectionString")
	if cs == "" {
		cs, _ = bindings.Lookup(md, "url")
	}
	if cs == "" {
		return nil, 0, errors.New("missing connection string")
	}
	cfg, err := pgxpool.ParseConfig(cs)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to parse connection string: %w", err)
	}
	timeout := defaultTimeout
	for _, k := range []string{"timeout", "timeoutInSeconds"} {
		if v, ok := bindings.Lookup(md, k); ok && v != "" {
			if timeout, err = duration(v); err != nil || timeout <= 0 {
				return nil, 0, fmt.Errorf("invalid value for '%s': %q", k, v)
			}
			break
		}
	}
	if v, ok := bindings.Lookup(md, "maxConns"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, 0, fmt.Errorf("invalid value for 'maxConns': %q", v)
		}
		if n > 0 {
			cfg.MaxConns = int32(min(n, 1<<30))
		}
	}
	if v, ok := bindings.Lookup(md, "connectionMaxIdleTime"); ok && v != "" {
		d, err := duration(v)
		if err != nil {
			return nil, 0, fmt.Errorf("invalid value for 'connectionMaxIdleTime': %q", v)
		}
		if d > 0 {
			cfg.MaxConnIdleTime = d
		}
	}
	if v, ok := bindings.Lookup(md, "queryExecMode"); ok && v != "" {
		mode, ok := execModes[v]
		if !ok {
			return nil, 0, fmt.Errorf("invalid value for 'queryExecMode': %q", v)
		}
		cfg.ConnConfig.DefaultQueryExecMode = mode
	}
	return cfg, timeout, nil
}

// duration reads a Go duration ("20s") or a number of seconds, as Dapr's
// metadata decoder does.
func duration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// Operations are daprd's: exec, query, close.
func (b *Binding) Operations() []string { return []string{OpExec, OpQuery, OpClose} }

// Ready is nil once the database answered, else why not (healthz). A
// binding closed by the close operation is ready: it answers, with errors.
func (b *Binding) Ready() error {
	if b.closed.Load() {
		return nil
	}
	return b.conn.Ready()
}

// Wait blocks until the pool connected or ctx ends (tests).
func (b *Binding) Wait(ctx context.Context) error { return b.conn.Wait(ctx) }

// Invoke runs one operation.
func (b *Binding) Invoke(ctx context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	if req.Operation == OpClose {
		return nil, b.Close()
	}
	if b.closed.Load() {
		return nil, errors.New("component is closed")
	}
	sql := req.Metadata["sql"]
	if sql == "" {
		return nil, errors.New("required metadata not set: sql")
	}
	var args []any
	if p := req.Metadata["params"]; p != "" {
		if err := json.Unmarshal([]byte(p), &args); err != nil {
			return nil, fmt.Errorf("invalid metadata property params: failed to unserialize into an array: %w", err)
		}
	}
	pool, err := b.conn.Get()
	if err != nil {
		return nil, err
	}
	start := time.Now().UTC()
	resp := &bindings.InvokeResponse{Metadata: map[string]string{
		"operation":  req.Operation,
		"sql":        sql,
		"start-time": start.Format(time.RFC3339Nano),
	}}
	switch req.Operation {
	case OpExec:
		tag, err := pool.Exec(ctx, sql, args...)
		if err != nil {
			return nil, fmt.Errorf("error executing query: %w", err)
		}
		resp.Metadata["rows-affected"] = strconv.FormatInt(tag.RowsAffected(), 10)
	case OpQuery:
		if resp.Data, err = query(ctx, pool, sql, args); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("invalid operation type: %s. Expected %s, %s, or %s", req.Operation, OpExec, OpQuery, OpClose)
	}
	end := time.Now().UTC()
	resp.Metadata["end-time"] = end.Format(time.RFC3339Nano)
	resp.Metadata["duration"] = end.Sub(start).String()
	return resp, nil
}

// query answers the rows as a JSON array of arrays, daprd's format.
func query(ctx context.Context, pool *pgxpool.Pool, sql string, args []any) ([]byte, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("error executing query: %w", err)
	}
	defer rows.Close()
	rs := make([]any, 0)
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("error reading result '%v': %w", rows.Err(), err)
		}
		rs = append(rs, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error executing query: %w", err)
	}
	out, err := json.Marshal(rs)
	if err != nil {
		return nil, fmt.Errorf("error serializing results: %w", err)
	}
	return out, nil
}

// Close closes the pool (also the close operation); later calls fail.
func (b *Binding) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	return b.conn.Close(func(p *pgxpool.Pool) error { p.Close(); return nil })
}
