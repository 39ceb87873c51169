package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	do := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("X-Test", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, b := do("PATCH", "/echo/a/b?x=1&y=2", "hello")
	var e Echo
	if err := json.Unmarshal([]byte(b), &e); err != nil || e.Method != "PATCH" || e.Path != "/echo/a/b" || e.RawQuery != "x=1&y=2" || e.Body != "hello" || e.Headers["X-Test"] != "1" || resp.Header.Get("X-App-Reply") != "echo" {
		t.Errorf("echo: %v %+v", err, e)
	}
	if resp, b := do("PUT", "/echo-raw/x", "raw body"); b != "raw body" || resp.Header.Get("X-Body-Len") != "8" {
		t.Errorf("echo-raw: %q %v", b, resp.Header)
	}
	if resp, b := do("GET", "/status/418", ""); resp.StatusCode != 418 || b != "status 418" {
		t.Errorf("status: %d %q", resp.StatusCode, b)
	}
	if resp, b := do("GET", "/status/204", ""); resp.StatusCode != 204 || b != "" {
		t.Errorf("status 204: %d %q", resp.StatusCode, b)
	}
	if resp, b := do("GET", "/big/100000", ""); resp.StatusCode != 200 || len(b) != 100000 || len(resp.TransferEncoding) == 0 {
		t.Errorf("big: %d, %d bytes, %v", resp.StatusCode, len(b), resp.TransferEncoding)
	} else {
		for i := range len(b) {
			if b[i] != Pattern(i) {
				t.Fatalf("big: byte %d", i)
			}
		}
	}
	if _, b := do("GET", "/slow/1", ""); b != "slept 1" {
		t.Errorf("slow: %q", b)
	}
	do("DELETE", "/count", "")
	do("POST", "/count", "")
	if _, b := do("POST", "/count", ""); b != `{"count":2}` {
		t.Errorf("count: %q", b)
	}
	if _, b := do("GET", "/dapr/subscribe", ""); b != "[]" {
		t.Errorf("subscribe: %q", b)
	}
	if _, b := do("GET", "/dapr/config", ""); b != "{}" {
		t.Errorf("config: %q", b)
	}
}
