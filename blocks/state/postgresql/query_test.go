package postgresql

import (
	"strings"
	"testing"
)

func TestBuildQuery(t *testing.T) {
	q, err := buildQuery([]byte(`{"filter":{"AND":[{"EQ":{"person.org":"Dev Ops"}},{"OR":[{"IN":{"state":["CA","WA"]}},{"GT":{"age":30}}]}]},"sort":[{"key":"state","order":"DESC"},{"key":"person.id"}],"page":{"limit":2,"token":"4"}}`), "state")
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT key, value, isbinary, xmin::text FROM state WHERE (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP) AND (value->'person'->>'org' = $1 AND (value->>'state' IN ($2, $3) OR (value->>'age')::numeric > $4::numeric)) ORDER BY value->'state' DESC, value->'person'->'id' ASC, key LIMIT $5 OFFSET $6`
	if q.sql != want {
		t.Fatalf("sql:\n%s\nwant\n%s", q.sql, want)
	}
	if len(q.args) != 6 || q.args[0] != "Dev Ops" || q.args[3] != "30" || q.offset != 4 || q.limit != 2 {
		t.Fatalf("args %v offset %d limit %d", q.args, q.offset, q.limit)
	}
	// A quote in a key cannot escape the literal.
	q, err = buildQuery([]byte(`{"filter":{"EQ":{"a'; DROP TABLE x; --":1}}}`), "state")
	if err != nil || !strings.Contains(q.sql, `value->>'a''; DROP TABLE x; --' = $1`) {
		t.Fatalf("%v %s", err, q.sql)
	}
	for _, bad := range []string{
		`{"filter":{"FOO":{"a":1}}}`,
		`{"filter":{"EQ":{"a":1},"NEQ":{"b":2}}}`,
		`{"filter":{"AND":[{"EQ":{"a":1}}]}}`,
		`{"filter":{"IN":{"a":[]}}}`,
		`{"filter":{"EQ":{"a":{"b":1}}}}`,
		`{"sort":[{"key":"a","order":"UP"}]}`,
		`{"page":{"token":"x"}}`,
		`{"page":{"limit":-1}}`,
		`{"filter":{"EQ":{"a..b":1}}}`,
		`not json`,
	} {
		if _, err := buildQuery([]byte(bad), "state"); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func FuzzBuildQuery(f *testing.F) {
	f.Add([]byte(`{"filter":{"AND":[{"EQ":{"a.b":"x"}},{"IN":{"c":[1,2]}}]},"sort":[{"key":"a"}],"page":{"limit":2,"token":"2"}}`))
	f.Add([]byte(`{"filter":{"OR":[{"GT":{"n":1}},{"LTE":{"n":"z"}}]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		q, err := buildQuery(doc, "state")
		if err != nil {
			return
		}
		// Every value is a parameter: the count of $n outside the quoted
		// field names matches the args.
		if n := strings.Count(outsideLiterals(q.sql), "$"); n != len(q.args) {
			t.Fatalf("%d placeholders for %d args: %s", n, len(q.args), q.sql)
		}
	})
}

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata(map[string]string{"connectionString": "host=x", "timeout": "5", "cleanupInterval": "1h", "tableName": "s.t"})
	if err != nil || m.Timeout.Seconds() != 5 || m.CleanupInterval.Hours() != 1 || m.TableName != "s.t" || m.MetadataTableName != "dapr_metadata" {
		t.Fatalf("%+v %v", m, err)
	}
	m, err = ParseMetadata(map[string]string{"connectionString": "host=x", "cleanupIntervalInSeconds": "-1"})
	if err != nil || m.CleanupInterval >= 0 {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []map[string]string{
		{},
		{"connectionString": "x", "tableName": "a;drop"},
		{"connectionString": "x", "timeout": "soon"},
		{"connectionString": "x", "maxConns": "-2"},
	} {
		if _, err := ParseMetadata(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

// outsideLiterals drops the SQL string literals (quotes doubled inside)
// from s: field names from the query are quoted there, and a "$" inside
// one is text, not a placeholder.
func outsideLiterals(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			in = !in // '' inside a literal toggles twice: stays inside
			continue
		}
		if !in {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
