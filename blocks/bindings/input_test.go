package bindings

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffd/skiff/dataplane/appchannel"
)

func testApp(t *testing.T, h http.HandlerFunc) *appchannel.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	ch, err := appchannel.New(appchannel.Config{Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Protocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	return ch
}

func TestInputsProbeAndDeliver(t *testing.T) {
	ch := testApp(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ok":
			if r.Method == "POST" {
				if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Meta") != "v" || string(body) != "data" {
					w.WriteHeader(400)
					return
				}
				_, _ = w.Write([]byte("thanks"))
			}
		case "/405":
			w.WriteHeader(405)
		case "/500":
			w.WriteHeader(500)
			_, _ = w.Write([]byte("bad"))
		default:
			w.WriteHeader(404)
		}
	})
	in := NewInputs(ch, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	for route, want := range map[string]bool{"/ok": true, "/405": true, "/500": false, "/missing": false} {
		got, err := in.Subscribed(ctx, route)
		if err != nil || got != want {
			t.Errorf("Subscribed(%s) = %v %v", route, got, err)
		}
	}
	b, err := in.Deliver(ctx, "/ok", &ReadResponse{Data: []byte("data"), Metadata: map[string]string{"X-Meta": "v", "Content-Length": "99", "bad\n": "x"}})
	if err != nil || string(b) != "thanks" {
		t.Fatalf("deliver: %q %v", b, err)
	}
	_, err = in.Deliver(ctx, "/500", &ReadResponse{})
	if err == nil || err.Error() != "fails to send binding event to http app channel, status code: 500 body: bad" {
		t.Fatalf("deliver 500: %v", err)
	}
	dead, _ := appchannel.New(appchannel.Config{Address: "127.0.0.1", Port: 1, Protocol: "http"})
	if _, err := NewInputs(dead, in.log).Subscribed(ctx, "/x"); err == nil || !strings.Contains(err.Error(), "could not invoke OPTIONS") {
		t.Fatalf("dead app: %v", err)
	}
}
