package httpbinding

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
)

func TestInvoke(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Path", r.URL.Path)
		w.Header().Set("X-Token", r.Header.Get("Auth"))
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		if r.URL.Path == "/slow" {
			time.Sleep(2 * time.Second)
		}
		w.WriteHeader(202)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	b, err := New(map[string]string{"url": srv.URL + "/", "securityToken": "tok", "securityTokenHeader": "Auth", "responseTimeout": "500ms", "maxResponseBodySize": "4"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: "put", Data: []byte(`"abcdef"`), Metadata: map[string]string{"path": "/x/y"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Data) != `"abc` || r.Metadata["statusCode"] != "202" || r.Metadata["X-Path"] != "/x/y" || r.Metadata["X-Token"] != "tok" || r.Metadata["X-Multi"] != "a, b" {
		t.Fatalf("%q %v", r.Data, r.Metadata)
	}
	if _, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: "get", Metadata: map[string]string{"path": "slow"}}); err == nil {
		t.Fatal("responseTimeout not applied")
	}
	if _, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: "connect", Metadata: map[string]string{}}); err == nil {
		t.Fatal("connect accepted")
	}
	if _, err := New(map[string]string{}); err == nil {
		t.Fatal("no url")
	}
	if _, err := New(map[string]string{"url": "http://x", "mtlsRootCA": "x"}); err == nil {
		t.Fatal("mTLS silently ignored")
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"10": 10, "2Ki": 2048, "100Mi": 100 << 20, "1Gi": 1 << 30, "3k": 3000, "5M": 5000000} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("%q = %d %v", in, got, err)
		}
	}
	if _, err := ParseByteSize("lots"); err == nil {
		t.Error("lots accepted")
	}
}
