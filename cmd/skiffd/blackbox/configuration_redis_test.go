package blackbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// TestConfigurationRedis: configuration.redis and lock.redis through the
// real skiffd. Items written with a plain client in daprd's layout
// (value||version) are read back and their changes reach the app; a lock
// taken through skiffd is the key lock||{appId}||{resource} holding the
// owner, as daprd writes it.
func TestConfigurationRedis(t *testing.T) {
	t.Parallel()
	addr := redisAddrForTest(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	p := "skiff-bb-" + hex.EncodeToString(rb[:]) + "-"
	ctx := context.Background()
	appID := "cfgredis" + hex.EncodeToString(rb[:2])
	defer c.Do(ctx, c.B().Del().Key(p+"color", "lock||"+appID+"||"+p+"res").Build())
	if err := c.Do(ctx, c.B().Set().Key(p+"color").Value("blue||1").Build()).Error(); err != nil {
		t.Fatal(err)
	}

	app := startConfigApp(t)
	dir := t.TempDir()
	writeFile(t, dir, "redis.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: rconfig
spec:
  type: configuration.redis
  version: v1
  metadata:
  - name: redisHost
    value: `+addr+`
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: rlock
spec:
  type: lock.redis
  version: v1
  metadata:
  - name: redisHost
    value: `+addr+`
`)
	s := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Args: []string{"--resources-path", dir}})

	wantBody(t, "get", s.do("GET", "/v1.0/configuration/rconfig?key="+p+"color", nil), 200, `{"`+p+`color":{"value":"blue","version":"1"}}`+"\n")
	r := s.do("GET", "/v1.0/configuration/rconfig/subscribe?key="+p+"color", nil)
	var sub struct{ ID string }
	if r.Status != 200 || json.Unmarshal(r.Body, &sub) != nil || sub.ID == "" {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	if err := c.Do(ctx, c.B().Set().Key(p+"color").Value("red||2").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	got := app.waitPosts(t, 1)
	want := configPost{"/configuration/rconfig/" + p + "color", "application/json", `{"id":"` + sub.ID + `","items":{"` + p + `color":{"value":"red","version":"2"}}}` + "\n"}
	if got[0] != want {
		t.Errorf("delivery %+v, want %+v", got[0], want)
	}
	wantBody(t, "unsubscribe", s.do("GET", "/v1.0/configuration/rconfig/"+sub.ID+"/unsubscribe", nil), 200, "{\"ok\":true}\n")

	wantBody(t, "lock", s.do("POST", "/v1.0-alpha1/lock/rlock", []byte(`{"resourceId":"`+p+`res","lockOwner":"alice","expiryInSeconds":30}`)), 200, `{"success":true}`)
	owner, err := c.Do(ctx, c.B().Get().Key("lock||"+appID+"||"+p+"res").Build()).ToString()
	if err != nil || owner != "alice" {
		t.Errorf("stored lock: %q %v, want alice under lock||%s||%sres", owner, err, appID, p)
	}
	wantBody(t, "contend", s.do("POST", "/v1.0-alpha1/lock/rlock", []byte(`{"resourceId":"`+p+`res","lockOwner":"bob","expiryInSeconds":30}`)), 200, `{"success":false}`)
	wantBody(t, "bob unlocks", s.do("POST", "/v1.0-alpha1/unlock/rlock", []byte(`{"resourceId":"`+p+`res","lockOwner":"bob"}`)), 200, `{"status":2}`)
	wantBody(t, "alice unlocks", s.do("POST", "/v1.0-alpha1/unlock/rlock", []byte(`{"resourceId":"`+p+`res","lockOwner":"alice"}`)), 200, `{"status":0}`)
}

// TestConfigurationRedisDown: Redis components pointing at a port where
// nothing listens do not stop skiffd; their requests answer the blocks'
// 500 errors naming the address.
func TestConfigurationRedisDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	app := startConfigApp(t)
	dir := t.TempDir()
	writeFile(t, dir, "redis.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: rconfig
spec:
  type: configuration.redis
  version: v1
  metadata:
  - name: redisHost
    value: `+down+`
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: rlock
spec:
  type: lock.redis
  version: v1
  metadata:
  - name: redisHost
    value: `+down+`
`)
	// healthz stays 500 while the stores connect, so do not wait for 204.
	s := startSidecar(t, Opts{AppPort: app.Port, NoWait: true, Args: []string{"--resources-path", dir}})
	s.waitListening(10 * time.Second)
	var hz Resp
	pollUntil(t, 10*time.Second, "healthz naming a Redis store", func() bool {
		hz = s.do("GET", "/v1.0/healthz", nil)
		return hz.Status == 500 && strings.Contains(string(hz.Body), down)
	})
	wantAPIError(t, "healthz", hz, 500, "ERR_HEALTH_NOT_READY")
	wantAPIError(t, "get", s.do("GET", "/v1.0/configuration/rconfig?key=a", nil), 500, "ERR_CONFIGURATION_GET", down)
	wantAPIError(t, "subscribe", s.do("GET", "/v1.0/configuration/rconfig/subscribe?key=a", nil), 500, "ERR_CONFIGURATION_SUBSCRIBE", down)
	wantAPIError(t, "lock", s.do("POST", "/v1.0-alpha1/lock/rlock", []byte(`{"resourceId":"r","lockOwner":"o","expiryInSeconds":5}`)), 500, "ERR_TRY_LOCK", down)
	e := wantAPIError(t, "unlock", s.do("POST", "/v1.0-alpha1/unlock/rlock", []byte(`{"resourceId":"r","lockOwner":"o"}`)), 500, "ERR_UNLOCK")
	if !strings.Contains(e.Message, "failed to release lock") {
		t.Errorf("unlock message %q", e.Message)
	}
}
