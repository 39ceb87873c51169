package blackbox

import (
	"encoding/json"
	"testing"
)

// TestMetadata: the GET shape, and extended attributes set with PUT as the
// dapr CLI does (cliPID, appCommand).
func TestMetadata(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "meta", AppPort: app.Port})

	type md struct {
		ID              string            `json:"id"`
		RuntimeVersion  string            `json:"runtimeVersion"`
		EnabledFeatures []string          `json:"enabledFeatures"`
		Extended        map[string]string `json:"extended"`
		Components      []struct {
			Name         string   `json:"name"`
			Type         string   `json:"type"`
			Version      string   `json:"version"`
			Capabilities []string `json:"capabilities"`
		} `json:"components"`
		Subscriptions           []json.RawMessage `json:"subscriptions"`
		HTTPEndpoints           []json.RawMessage `json:"httpEndpoints"`
		AppConnectionProperties struct {
			Port           int    `json:"port"`
			Protocol       string `json:"protocol"`
			ChannelAddress string `json:"channelAddress"`
			MaxConcurrency *int   `json:"maxConcurrency"`
		} `json:"appConnectionProperties"`
		ActorRuntime *struct {
			RuntimeStatus string `json:"runtimeStatus"`
		} `json:"actorRuntime"`
	}
	get := func() (md, map[string]json.RawMessage) {
		t.Helper()
		r := s.do("GET", "/v1.0/metadata", nil)
		wantStatus(t, "GET metadata", r, 200)
		var m md
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatalf("metadata: %v; %s", err, r.Body)
		}
		_ = json.Unmarshal(r.Body, &raw)
		return m, raw
	}
	m, raw := get()
	for _, k := range []string{"id", "runtimeVersion", "enabledFeatures", "components", "extended", "appConnectionProperties", "actorRuntime"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("metadata has no %q: %s", k, keys(raw))
		}
	}
	if m.ID != "meta" || m.RuntimeVersion != "1.18.3" {
		t.Errorf("id %q runtimeVersion %q", m.ID, m.RuntimeVersion)
	}
	if m.EnabledFeatures == nil {
		t.Errorf("enabledFeatures is not an array: %s", raw["enabledFeatures"])
	}
	// The embedded defaults of every block are listed; check the state store's row.
	st := -1
	for i, c := range m.Components {
		if c.Name == "statestore" {
			st = i
		}
	}
	if st < 0 || m.Components[st].Type != "state.in-memory" || m.Components[st].Version != "v1" {
		t.Errorf("components %+v", m.Components)
	} else if !contains(m.Components[st].Capabilities, "ETAG") || !contains(m.Components[st].Capabilities, "TRANSACTIONAL") {
		t.Errorf("statestore capabilities %v", m.Components[st].Capabilities)
	}
	ac := m.AppConnectionProperties
	if ac.Port != app.Port || ac.Protocol != "http" || ac.ChannelAddress != "127.0.0.1" {
		t.Errorf("appConnectionProperties %+v", ac)
	}
	if m.Extended["daprRuntimeVersion"] != "1.18.3" {
		t.Errorf("extended %v", m.Extended)
	}

	// What `dapr run` does once the sidecar is up.
	wantStatus(t, "PUT cliPID", s.do("PUT", "/v1.0/metadata/cliPID", []byte("4242")), 204)
	wantStatus(t, "PUT appCommand", s.do("PUT", "/v1.0/metadata/appCommand", []byte("python3 app.py --port 6001")), 204)
	wantStatus(t, "PUT appPID", s.do("PUT", "/v1.0/metadata/appPID", []byte("4243")), 204)
	m, _ = get()
	for k, want := range map[string]string{"cliPID": "4242", "appCommand": "python3 app.py --port 6001", "appPID": "4243", "daprRuntimeVersion": "1.18.3"} {
		if m.Extended[k] != want {
			t.Errorf("extended[%s] = %q, want %q (all %v)", k, m.Extended[k], want, m.Extended)
		}
	}
	// Overwrite.
	wantStatus(t, "PUT cliPID again", s.do("PUT", "/v1.0/metadata/cliPID", []byte("5")), 204)
	if m, _ = get(); m.Extended["cliPID"] != "5" {
		t.Errorf("cliPID after overwrite: %q", m.Extended["cliPID"])
	}
}

func keys(m map[string]json.RawMessage) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
