package configuration_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/configuration"
	"github.com/skiffd/skiff/blocks/configuration/memory"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/router"
)

type post struct {
	path string
	body string
}

// fakeApp records deliveries.
type fakeApp struct {
	mu    sync.Mutex
	posts []post
}

func (f *fakeApp) Post(_ context.Context, path string, body []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append(f.posts, post{path, string(body)})
	return 200, nil
}

func (f *fakeApp) wait(t *testing.T, n int) []post {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		got := append([]post(nil), f.posts...)
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d deliveries, want %d: %v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type harness struct {
	t     *testing.T
	api   *configuration.API
	table *router.Table
	mem   *memory.Store
}

func newHarness(t *testing.T, app configuration.Deliverer, md map[string]string) *harness {
	t.Helper()
	mem, err := memory.New("configstore", md)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configuration.Config{}
	if app != nil {
		cfg.App = app
	}
	api, err := configuration.New(cfg, []configuration.StoreEntry{{Name: "configstore", Store: mem}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close(); mem.Close() })
	tbl := router.New()
	tbl.MustAdd(api.Routes()...)
	return &harness{t: t, api: api, table: tbl, mem: mem}
}

func (h *harness) get(target string) (int, string) {
	h.t.Helper()
	raw := "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"
	var c router.Ctx
	if _, err := c.Req.Parse([]byte(raw), 8192); err != nil {
		h.t.Fatal(err)
	}
	c.Ctx = context.Background()
	route, res := h.table.Match(c.Req.MethodID, c.Req.Path(), &c)
	if res != router.Found {
		h.t.Fatalf("%s: no route", target)
	}
	route.Handler(&c)
	if off := c.TakeOffload(); off != nil {
		off(&c)
	}
	return c.StatusCode(), string(c.RespBody)
}

func check(t *testing.T, what string, st int, body string, wantSt int, wantBody string) {
	t.Helper()
	if st != wantSt || body != wantBody {
		t.Errorf("%s: got %d %q, want %d %q", what, st, body, wantSt, wantBody)
	}
}

func TestGet(t *testing.T) {
	h := newHarness(t, nil, map[string]string{"item.color": "blue||v1", "item.size": "10", "other": "x"})
	st, b := h.get("/v1.0/configuration/configstore?key=color&key=size&key=missing")
	check(t, "get two", st, b, 200, `{"color":{"value":"blue","version":"v1"},"size":{"value":"10"}}`+"\n")
	st, b = h.get("/v1.0-alpha1/configuration/configstore")
	check(t, "get all (alpha1)", st, b, 200, `{"color":{"value":"blue","version":"v1"},"size":{"value":"10"}}`+"\n")
	st, b = h.get("/v1.0/configuration/configstore?key=missing")
	check(t, "get missing", st, b, 204, "")
	h.mem.Set("m", configuration.Item{Value: "<&>", Metadata: map[string]string{"b": "2", "a": "1"}})
	st, b = h.get("/v1.0/configuration/configstore?key=m")
	check(t, "get escaped", st, b, 200, `{"m":{"value":"\u003c\u0026\u003e","metadata":{"a":"1","b":"2"}}}`+"\n")
	st, b = h.get("/v1.0/configuration/nope?key=a")
	check(t, "unknown store", st, b, 400, `{"errorCode":"ERR_CONFIGURATION_STORE_NOT_FOUND","message":"configuration store nope not found"}`)
	st, b = h.get("/v1.0/configuration/nope/subscribe")
	check(t, "subscribe unknown store", st, b, 400, `{"errorCode":"ERR_CONFIGURATION_STORE_NOT_FOUND","message":"configuration store nope not found"}`)
	st, b = h.get("/v1.0/configuration/configstore/subscribe?key=a")
	check(t, "subscribe without app", st, b, 500, `{"errorCode":"ERR_APP_CHANNEL_NIL","message":"app channel is not initialized. cannot subscribe to configuration updates"}`)
}

func TestNotConfigured(t *testing.T) {
	api, err := configuration.New(configuration.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl := router.New()
	tbl.MustAdd(api.Routes()...)
	h := &harness{t: t, table: tbl}
	st, b := h.get("/v1.0/configuration/x?key=a")
	check(t, "not configured", st, b, 500, `{"errorCode":"ERR_CONFIGURATION_STORE_NOT_CONFIGURED","message":"configuration stores not configured"}`)
}

func TestSubscribeUnsubscribe(t *testing.T) {
	app := &fakeApp{}
	h := newHarness(t, app, nil)
	st, b := h.get("/v1.0/configuration/configstore/subscribe?key=color&key=size")
	if st != 200 {
		t.Fatalf("subscribe: %d %s", st, b)
	}
	var sub struct{ ID string }
	if err := json.Unmarshal([]byte(b), &sub); err != nil || sub.ID == "" || !strings.HasSuffix(b, "}\n") {
		t.Fatalf("subscribe body %q", b)
	}
	h.mem.Set("color", configuration.Item{Value: "red", Version: "2"})
	h.mem.Set("ignored", configuration.Item{Value: "x"})
	h.mem.Delete("color")
	got := app.wait(t, 2)
	want := []post{
		{"/configuration/configstore/color", `{"id":"` + sub.ID + `","items":{"color":{"value":"red","version":"2"}}}` + "\n"},
		{"/configuration/configstore/color", `{"id":"` + sub.ID + `","items":{"color":null}}` + "\n"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("delivery %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	st, b = h.get("/v1.0/configuration/configstore/" + sub.ID + "/unsubscribe")
	check(t, "unsubscribe", st, b, 200, "{\"ok\":true}\n")
	st, b = h.get("/v1.0-alpha1/configuration/configstore/" + sub.ID + "/unsubscribe")
	check(t, "unsubscribe again", st, b, 500, `{"message":"failed to unsubscribe to configuration request `+sub.ID+`: subscription with id `+sub.ID+` does not exist"}`+"\n")
	h.mem.Set("size", configuration.Item{Value: "1"})
	time.Sleep(50 * time.Millisecond)
	if n := len(app.wait(t, 2)); n != 2 {
		t.Errorf("%d deliveries after unsubscribe", n-2)
	}
}

func TestItemsFile(t *testing.T) {
	app := &fakeApp{}
	file := filepath.Join(t.TempDir(), "items.json")
	if err := os.WriteFile(file, []byte(`{"a":"1||v1","b":{"value":"2","metadata":{"k":"v"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, app, map[string]string{"itemsFile": file, "pollInterval": "10ms"})
	st, b := h.get("/v1.0/configuration/configstore")
	check(t, "from file", st, b, 200, `{"a":{"value":"1","version":"v1"},"b":{"value":"2","metadata":{"k":"v"}}}`+"\n")
	if st, b := h.get("/v1.0/configuration/configstore/subscribe"); st != 200 {
		t.Fatalf("subscribe: %d %s", st, b)
	}
	if err := os.WriteFile(file, []byte(`{"a":"1||v2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got := app.wait(t, 2)
	paths := got[0].path + " " + got[1].path
	if !strings.Contains(paths, "/configuration/configstore/a") || !strings.Contains(paths, "/configuration/configstore/b") {
		t.Errorf("deliveries %v", got)
	}
	if _, err := memory.New("x", map[string]string{"itemsFile": file, "pollInterval": "soon"}); err == nil {
		t.Error("a bad pollInterval was accepted")
	}
	if _, err := memory.New("x", map[string]string{"itemsFile": filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("a missing itemsFile was accepted")
	}
}

// TestAppChannelDelivery: updates reach a real HTTP app through the pooled
// app channel, and Close ends the subscriptions.
func TestAppChannelDelivery(t *testing.T) {
	type got struct{ path, ct, body string }
	ch := make(chan got, 16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.URL.EscapedPath(), r.Header.Get("Content-Type"), string(b)}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	client, err := appchannel.New(appchannel.Config{Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	h := newHarness(t, configuration.AppChannel{Client: client}, nil)
	st, b := h.get("/v1.0/configuration/configstore/subscribe?key=a%20b")
	if st != 200 {
		t.Fatalf("subscribe: %d %s", st, b)
	}
	h.mem.Set("a b", configuration.Item{Value: "v"})
	select {
	case g := <-ch:
		if g.path != "/configuration/configstore/a%20b" || g.ct != "application/json" || !strings.Contains(g.body, `"items":{"a b":{"value":"v"}}`) {
			t.Errorf("delivery %+v", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	if err := h.api.Close(); err != nil {
		t.Fatal(err)
	}
	h.mem.Set("a b", configuration.Item{Value: "w"})
	select {
	case g := <-ch:
		t.Errorf("delivery after Close: %+v", g)
	case <-time.After(100 * time.Millisecond):
	}
	_, aerr := h.api.Subscribe(context.Background(), "configstore", nil, nil)
	if aerr == nil || aerr.Kind.Code != "ERR_CONFIGURATION_SUBSCRIBE" {
		t.Errorf("subscribe after Close: %v", aerr)
	}
}
