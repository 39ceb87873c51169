package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffd/skiff/bench/loadgen"
)

func TestRunCmdWritesJSONAndSVG(t *testing.T) {
	var posts, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.Header.Get("X-Test") != "yes" || string(b) != `[{"key":"k1"}]` {
			bad.Add(1)
			w.WriteHeader(400)
			return
		}
		posts.Add(1)
		w.WriteHeader(204)
	}))
	defer srv.Close()
	dir := t.TempDir()
	js, svg := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.svg")
	err := runCmd(context.Background(), []string{"-c", "2", "-d", "300ms", "--warmup", "50ms", "-X", "POST",
		"-H", "X-Test: yes", "--body", `[{"key":"k1"}]`, "--json", js, "--svg", svg, "--repeat", "2", "--pid", "0",
		srv.URL + "/v1.0/state/statestore", srv.URL + "/other"})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Load() != 0 || posts.Load() == 0 {
		t.Fatalf("server saw %d good and %d bad requests", posts.Load(), bad.Load())
	}
	var results []loadgen.Result
	b, err := os.ReadFile(js)
	if err != nil || json.Unmarshal(b, &results) != nil {
		t.Fatalf("json: %v %s", err, b)
	}
	// Two URLs × two rounds, alternating.
	if len(results) != 4 || !strings.HasSuffix(results[0].URL, "/statestore") || !strings.HasSuffix(results[1].URL, "/other") {
		t.Fatalf("results %d: %+v", len(results), results)
	}
	for _, r := range results {
		if r.Requests == 0 || r.Statuses[204] != r.Requests || len(r.Curve) == 0 {
			t.Fatalf("result %+v", r)
		}
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("svg: %v", err)
		}
	}
}

func TestRunCmdFailsLoudly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	}))
	defer srv.Close()
	err := runCmd(context.Background(), []string{"-d", "200ms", "--warmup", "0s", srv.URL + "/"})
	if err == nil || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("a run whose requests all fail must return an error, got %v", err)
	}
}
