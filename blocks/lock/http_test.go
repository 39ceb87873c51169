package lock_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/lock"
	"github.com/skiffd/skiff/blocks/lock/memory"
	"github.com/skiffd/skiff/dataplane/router"
)

type harness struct {
	t     testing.TB
	table *router.Table
	mem   *memory.Store
}

func newHarness(t testing.TB, appID, keyPrefix string, extra ...lock.StoreEntry) *harness {
	t.Helper()
	mem, err := memory.New("lockstore", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	stores := append([]lock.StoreEntry{{Name: "lockstore", Store: mem, KeyPrefix: keyPrefix}}, extra...)
	api, err := lock.New(lock.Config{AppID: appID}, stores)
	if err != nil {
		t.Fatal(err)
	}
	tbl := router.New()
	tbl.MustAdd(api.Routes()...)
	return &harness{t: t, table: tbl, mem: mem}
}

func (h *harness) do(target, body string) (int, string) {
	h.t.Helper()
	raw := "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	var c router.Ctx
	n, err := c.Req.Parse([]byte(raw), 8192)
	if err != nil {
		h.t.Fatal(err)
	}
	c.Body = []byte(raw)[n:]
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

func expect(t testing.TB, what string, st int, body string, wantSt int, wantBody string) {
	t.Helper()
	if st != wantSt || (wantBody != "" && body != wantBody && !strings.Contains(body, wantBody)) {
		t.Errorf("%s: got %d %s, want %d %s", what, st, body, wantSt, wantBody)
	}
}

func TestContentionAndUnlockStatuses(t *testing.T) {
	h := newHarness(t, "app", "")
	st, b := h.do("/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":60}`)
	expect(t, "a locks", st, b, 200, `{"success":true}`)
	st, b = h.do("/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"b","expiryInSeconds":60}`)
	expect(t, "b contends", st, b, 200, `{"success":false}`)
	st, b = h.do("/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":60}`)
	expect(t, "a again (not re-entrant)", st, b, 200, `{"success":false}`)
	st, b = h.do("/v1.0-alpha1/unlock/lockstore", `{"resourceId":"r","lockOwner":"b"}`)
	expect(t, "b unlocks", st, b, 200, `{"status":2}`)
	st, b = h.do("/v1.0-alpha1/unlock/lockstore", `{"resource_id":"r","lock_owner":"a"}`)
	expect(t, "a unlocks", st, b, 200, `{"status":0}`)
	st, b = h.do("/v1.0-alpha1/unlock/lockstore", `{"resourceId":"r","lockOwner":"a"}`)
	expect(t, "a unlocks again", st, b, 200, `{"status":1}`)
	st, b = h.do("/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"b","expiryInSeconds":"5"}`)
	expect(t, "b locks (quoted int32)", st, b, 200, `{"success":true}`)
}

func TestExpiry(t *testing.T) {
	h := newHarness(t, "app", "")
	now := time.Unix(1000, 0)
	h.mem.SetClock(func() time.Time { return now })
	h.do("/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":2}`)
	now = now.Add(1999 * time.Millisecond)
	st, b := h.do("/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"b","expiryInSeconds":2}`)
	expect(t, "before expiry", st, b, 200, `{"success":false}`)
	now = now.Add(time.Millisecond)
	st, b = h.do("/v1.0-alpha1/unlock/lockstore", `{"resourceId":"r","lockOwner":"a"}`)
	expect(t, "expired unlock", st, b, 200, `{"status":1}`)
	st, b = h.do("/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"b","expiryInSeconds":2}`)
	expect(t, "after expiry", st, b, 200, `{"success":true}`)
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, "app", "")
	cases := []struct {
		path, body string
		st         int
		code, msg  string
	}{
		{"/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","lockOwner":"a"}`, 400, "ERR_MALFORMED_REQUEST", "ExpiryInSeconds is not positive in lock store lockstore"},
		{"/v1.0-alpha1/lock/nope", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":-1}`, 400, "ERR_MALFORMED_REQUEST", "ExpiryInSeconds is not positive in lock store nope"},
		{"/v1.0-alpha1/lock/lockstore", `{"lockOwner":"a","expiryInSeconds":1}`, 400, "ERR_MALFORMED_REQUEST", "ResourceId is empty in lock store lockstore"},
		{"/v1.0-alpha1/lock/lockstore", `{"resourceId":"r","expiryInSeconds":1}`, 400, "ERR_MALFORMED_REQUEST", "LockOwner is empty in lock store lockstore"},
		{"/v1.0-alpha1/lock/nope", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":1}`, 400, "ERR_LOCK_STORE_NOT_FOUND", "lock store nope not found"},
		{"/v1.0-alpha1/unlock/nope", `{"resourceId":"r","lockOwner":"a"}`, 400, "ERR_LOCK_STORE_NOT_FOUND", "lock store nope not found"},
		{"/v1.0-alpha1/unlock/lockstore", ``, 400, "ERR_MALFORMED_REQUEST", "ResourceId is empty"},
		{"/v1.0-alpha1/lock/lockstore", `{"resourceId":`, 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: "},
		{"/v1.0-alpha1/lock/lockstore", `[1]`, 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: "},
		{"/v1.0-alpha1/lock/lockstore", `{"resourceId":5}`, 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: "},
		{"/v1.0-alpha1/lock/lockstore", `{"expiryInSeconds":1.5}`, 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: "},
		{"/v1.0-alpha1/lock/lockstore", `{"expiryInSeconds":99999999999}`, 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: "},
		{"/v1.0-alpha1/lock/lockstore", `{"resourceId":"a||b","lockOwner":"a","expiryInSeconds":1}`, 500, "ERR_TRY_LOCK", "failed to try acquiring lock: input key/keyPrefix 'a||b' can't contain '||'"},
		{"/v1.0-alpha1/unlock/lockstore", `{"resourceId":"a||b","lockOwner":"a"}`, 500, "ERR_UNLOCK", "failed to release lock: input key/keyPrefix 'a||b' can't contain '||'"},
	}
	for _, c := range cases {
		st, b := h.do(c.path, c.body)
		expect(t, c.path+" "+c.body, st, b, c.st, `{"errorCode":"`+c.code+`","message":`)
		if !strings.Contains(b, c.msg) {
			t.Errorf("%s %s: body %s lacks %q", c.path, c.body, b, c.msg)
		}
	}
}

func TestNotConfigured(t *testing.T) {
	api, err := lock.New(lock.Config{AppID: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl := router.New()
	tbl.MustAdd(api.Routes()...)
	h := &harness{t: t, table: tbl}
	st, b := h.do("/v1.0-alpha1/lock/any", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":1}`)
	expect(t, "not configured", st, b, 500, `{"errorCode":"ERR_LOCK_STORE_NOT_CONFIGURED","message":"lock store is not configured"}`)
}

// recorder is a blocking store: it records keys and must be offloaded.
type recorder struct {
	keys []string
	fail error
}

func (r *recorder) TryLock(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	r.keys = append(r.keys, key)
	return true, r.fail
}
func (r *recorder) Unlock(_ context.Context, key, owner string) (lock.Status, error) {
	r.keys = append(r.keys, key)
	return lock.Success, r.fail
}
func (r *recorder) Close() error { return nil }

func TestKeyPrefixesAndOffload(t *testing.T) {
	for _, c := range []struct{ prefix, appID, want string }{
		{"", "app", "lock||app||r"},
		{"appid", "", "lock||r"},
		{"name", "app", "lock||rec||r"},
		{"none", "app", "lock||r"},
		{"MyPrefix", "app", "lock||myprefix||r"},
	} {
		rec := &recorder{}
		h := newHarness(t, c.appID, "", lock.StoreEntry{Name: "rec", Store: rec, KeyPrefix: c.prefix})
		st, b := h.do("/v1.0-alpha1/lock/rec", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":1}`)
		expect(t, "lock", st, b, 200, `{"success":true}`)
		if len(rec.keys) != 1 || rec.keys[0] != c.want {
			t.Errorf("prefix %q: keys %q, want %q", c.prefix, rec.keys, c.want)
		}
	}
	if _, err := lock.New(lock.Config{}, []lock.StoreEntry{{Name: "x", Store: &recorder{}, KeyPrefix: "a||b"}}); err == nil {
		t.Error("a keyPrefix with || was accepted")
	}
	rec := &recorder{fail: errors.New("boom")}
	h := newHarness(t, "app", "", lock.StoreEntry{Name: "rec", Store: rec})
	st, b := h.do("/v1.0-alpha1/lock/rec", `{"resourceId":"r","lockOwner":"a","expiryInSeconds":1}`)
	expect(t, "store error", st, b, 500, `{"errorCode":"ERR_TRY_LOCK","message":"failed to try acquiring lock: boom"}`)
	st, b = h.do("/v1.0-alpha1/unlock/rec", `{"resourceId":"r","lockOwner":"a"}`)
	expect(t, "store error", st, b, 500, `{"errorCode":"ERR_UNLOCK","message":"failed to release lock: boom"}`)
}
