package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRoutes(t *testing.T) {
	srv := httptest.NewServer(newApp(false).routes())
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("POST", "/neworder", `{"data":{"orderId":"1"}}`); code != 200 || body != `{"orderId":1,"status":"accepted"}` {
		t.Fatalf("neworder: %d %q", code, body)
	}
	if code, body := do("GET", "/dapr/subscribe", ""); code != 200 || body != "[]" {
		t.Fatalf("subscribe: %d %q", code, body)
	}
	if code, body := do("GET", "/dapr/config", ""); code != 200 || body != "{}" {
		t.Fatalf("config: %d %q", code, body)
	}
	for i := 0; i < 3; i++ {
		if code, _ := do("POST", "/orders", `{}`); code != 200 {
			t.Fatalf("orders: %d", code)
		}
	}
	if code, body := do("GET", "/count", ""); code != 200 || body != "3" {
		t.Fatalf("count: %d %q", code, body)
	}
	if code, _ := do("DELETE", "/count", ""); code != 204 {
		t.Fatalf("reset: %d", code)
	}
	if _, body := do("GET", "/count", ""); body != "0" {
		t.Fatalf("count after reset: %q", body)
	}
	if code, _ := do("GET", "/neworder", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET neworder: %d", code)
	}
}

func TestSubscribeFlag(t *testing.T) {
	srv := httptest.NewServer(newApp(true).routes())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/dapr/subscribe")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != subscription {
		t.Fatalf("subscribe: %q", b)
	}
}
