package postgresql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/skiffd/skiff/blocks/state"
)

// The query API (/v1.0-alpha1/state/{store}/query), as daprd's PostgreSQL
// store answers it: filter keys are dotted paths into the JSON value,
// compared as text (numbers in their JSON form); sort orders by those paths;
// page.limit and page.token (an offset) page the results, sorted by key
// when no sort is given so pages are stable.

type queryDoc struct {
	Filter map[string]json.RawMessage `json:"filter"`
	Sort   []struct {
		Key   string `json:"key"`
		Order string `json:"order"`
	} `json:"sort"`
	Page struct {
		Limit int    `json:"limit"`
		Token string `json:"token"`
	} `json:"page"`
}

type queryBuilder struct {
	args []any
}

func (b *queryBuilder) param(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// fieldPath turns "person.org" into value->'person'->>'org' (text).
func fieldPath(key string, asText bool) (string, error) {
	if key == "" {
		return "", errors.New("empty filter key")
	}
	parts := strings.Split(key, ".")
	var sb strings.Builder
	sb.WriteString("value")
	for i, p := range parts {
		if p == "" {
			return "", fmt.Errorf("invalid key %q", key)
		}
		if i == len(parts)-1 && asText {
			sb.WriteString("->>")
		} else {
			sb.WriteString("->")
		}
		sb.WriteString("'" + strings.ReplaceAll(p, "'", "''") + "'")
	}
	return sb.String(), nil
}

// scalarText is a filter value as ->> renders it.
func scalarText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("missing value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		return "", fmt.Errorf("filter value %s is not a scalar", raw)
	}
	return string(raw), nil
}

func (b *queryBuilder) filter(f map[string]json.RawMessage, depth int) (string, error) {
	if depth > 32 {
		return "", errors.New("filter nested too deeply")
	}
	if len(f) != 1 {
		return "", fmt.Errorf("a filter needs exactly one operation, got %d", len(f))
	}
	for op, body := range f {
		switch op {
		case "AND", "OR":
			var subs []map[string]json.RawMessage
			if err := json.Unmarshal(body, &subs); err != nil {
				return "", fmt.Errorf("%s: %w", op, err)
			}
			if len(subs) < 2 {
				return "", fmt.Errorf("%s filter must have at least 2 operands", op)
			}
			parts := make([]string, len(subs))
			for i, sub := range subs {
				p, err := b.filter(sub, depth+1)
				if err != nil {
					return "", err
				}
				parts[i] = p
			}
			return "(" + strings.Join(parts, " "+op+" ") + ")", nil
		case "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "IN":
			var kv map[string]json.RawMessage
			if err := json.Unmarshal(body, &kv); err != nil || len(kv) != 1 {
				return "", fmt.Errorf("%s filter must have exactly one key", op)
			}
			for k, v := range kv {
				path, err := fieldPath(k, true)
				if err != nil {
					return "", err
				}
				if op == "IN" {
					var vals []json.RawMessage
					if err := json.Unmarshal(v, &vals); err != nil || len(vals) == 0 {
						return "", errors.New("IN filter must have a non-empty array")
					}
					ps := make([]string, len(vals))
					for i, raw := range vals {
						t, err := scalarText(raw)
						if err != nil {
							return "", err
						}
						ps[i] = b.param(t)
					}
					return path + " IN (" + strings.Join(ps, ", ") + ")", nil
				}
				t, err := scalarText(v)
				if err != nil {
					return "", err
				}
				sqlOp := map[string]string{"EQ": "=", "NEQ": "<>", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}[op]
				if op != "EQ" && op != "NEQ" && len(v) > 0 && v[0] != '"' {
					// Numbers compare as numbers.
					return "(" + path + ")::numeric " + sqlOp + " " + b.param(t) + "::numeric", nil
				}
				return path + " " + sqlOp + " " + b.param(t), nil
			}
		}
		return "", fmt.Errorf("unsupported filter operation %q", op)
	}
	return "", nil
}

// builtQuery is a query document turned into SQL.
type builtQuery struct {
	sql    string
	args   []any
	offset int64
	limit  int
}

// buildQuery parses a query document and builds its SQL on table.
func buildQuery(query []byte, table string) (builtQuery, error) {
	var doc queryDoc
	if err := json.Unmarshal(query, &doc); err != nil {
		return builtQuery{}, fmt.Errorf("failed to parse JSON query body: %w", err)
	}
	var b queryBuilder
	sql := `SELECT key, value, isbinary, xmin::text FROM ` + table +
		` WHERE (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP)`
	if len(doc.Filter) > 0 {
		w, err := b.filter(doc.Filter, 0)
		if err != nil {
			return builtQuery{}, err
		}
		sql += " AND " + w
	}
	if len(doc.Sort) > 0 {
		parts := make([]string, 0, len(doc.Sort))
		for _, so := range doc.Sort {
			path, err := fieldPath(so.Key, false)
			if err != nil {
				return builtQuery{}, err
			}
			dir := "ASC"
			switch strings.ToUpper(so.Order) {
			case "", "ASC":
			case "DESC":
				dir = "DESC"
			default:
				return builtQuery{}, fmt.Errorf("invalid sort order %q", so.Order)
			}
			parts = append(parts, path+" "+dir)
		}
		sql += " ORDER BY " + strings.Join(parts, ", ") + ", key"
	} else {
		sql += " ORDER BY key"
	}
	offset := int64(0)
	if doc.Page.Token != "" {
		n, err := strconv.ParseInt(doc.Page.Token, 10, 64)
		if err != nil || n < 0 {
			return builtQuery{}, fmt.Errorf("invalid pagination token %q", doc.Page.Token)
		}
		offset = n
	}
	if doc.Page.Limit < 0 {
		return builtQuery{}, fmt.Errorf("invalid page limit %d", doc.Page.Limit)
	}
	if doc.Page.Limit > 0 {
		sql += " LIMIT " + b.param(doc.Page.Limit)
	}
	if offset > 0 {
		sql += " OFFSET " + b.param(offset)
	}
	return builtQuery{sql: sql, args: b.args, offset: offset, limit: doc.Page.Limit}, nil
}

// Query runs a state query.
func (s *Store) Query(ctx context.Context, req *state.QueryRequest) (*state.QueryResponse, error) {
	q, err := buildQuery(req.Query, s.md.TableName)
	if err != nil {
		return nil, err
	}
	sql, offset := q.sql, q.offset
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &state.QueryResponse{}
	for rows.Next() {
		var (
			key      string
			value    []byte
			isBinary bool
			etag     string
		)
		if err := rows.Scan(&key, &value, &isBinary, &etag); err != nil {
			return nil, err
		}
		item := state.QueryItem{Key: key, ETag: etag}
		if data, err := decodeValue(value, isBinary); err != nil {
			item.Error = err.Error()
		} else if isBinary {
			// The query answer embeds data as JSON: binary values stay base64.
			item.Data = value
		} else {
			item.Data = data
		}
		resp.Results = append(resp.Results, item)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if q.limit > 0 {
		resp.Token = strconv.FormatInt(offset+int64(len(resp.Results)), 10)
	}
	return resp, nil
}
