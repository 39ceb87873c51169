// Package metadata serves GET /v1.0/metadata and PUT /v1.0/metadata/{key}.
//
// The static part of the answer (id, components, app connection) is fixed at
// startup; the extended attributes are set at run time by the dapr CLI
// (cliPID, appCommand, …) and guarded by a mutex. Handlers copy what they keep.
package metadata

import (
	"encoding/json"
	"sort"
	"sync"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// Component is one loaded component as the metadata API lists it.
type Component struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Version      string   `json:"version"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// AppConnection describes the sidecar's channel to the app.
type AppConnection struct {
	Port           int    `json:"port,omitempty"`
	Protocol       string `json:"protocol,omitempty"`
	ChannelAddress string `json:"channelAddress,omitempty"`
	MaxConcurrency int    `json:"maxConcurrency,omitempty"`
	// Health is set when app health checks are on.
	Health *AppHealth `json:"health,omitempty"`
}

// AppHealth is daprd's appConnectionProperties.health; HealthStatus is
// skiff's addition (HEALTHY or UNHEALTHY).
type AppHealth struct {
	HealthCheckPath     string `json:"healthCheckPath,omitempty"`
	HealthProbeInterval string `json:"healthProbeInterval,omitempty"`
	HealthProbeTimeout  string `json:"healthProbeTimeout,omitempty"`
	HealthThreshold     int    `json:"healthThreshold,omitempty"`
	HealthStatus        string `json:"healthStatus,omitempty"`
}

// Info is the part of the answer fixed at startup.
type Info struct {
	AppID           string
	RuntimeVersion  string
	EnabledFeatures []string
	Components      []Component
	App             AppConnection
}

// Metadata answers the metadata API. Extra, when set, adds attributes
// computed at request time (e.g. the eBPF shortcut's status).
type Metadata struct {
	info Info

	mu       sync.RWMutex
	extended map[string]string

	// Subscriptions, when set, lists the active pub/sub subscriptions.
	Subscriptions func() any
	// Extra returns attributes merged into "extended" at request time.
	Extra func() map[string]string
	// AppHealthStatus, when set, fills App.Health.HealthStatus.
	AppHealthStatus func() string
}

// New returns the metadata block for info.
func New(info Info) *Metadata {
	return &Metadata{info: info, extended: map[string]string{"daprRuntimeVersion": info.RuntimeVersion}}
}

// Set stores an extended attribute.
func (m *Metadata) Set(key, value string) {
	m.mu.Lock()
	m.extended[key] = value
	m.mu.Unlock()
}

// Routes returns the metadata endpoints.
func (m *Metadata) Routes() []router.Route {
	return []router.Route{
		{Name: "metadata.get", Methods: []http1.Method{http1.MethodGet}, Pattern: "/v1.0/metadata", Mode: router.Inline, Handler: m.get},
		{Name: "metadata.set", Methods: []http1.Method{http1.MethodPut}, Pattern: "/v1.0/metadata/{key}", Mode: router.Inline, Handler: m.put},
	}
}

type actorRuntime struct {
	RuntimeStatus string `json:"runtimeStatus"`
	HostReady     bool   `json:"hostReady"`
	Placement     string `json:"placement"`
}

type response struct {
	ID              string            `json:"id"`
	RuntimeVersion  string            `json:"runtimeVersion"`
	EnabledFeatures []string          `json:"enabledFeatures"`
	Actors          []any             `json:"actors"`
	Components      []Component       `json:"components"`
	Extended        map[string]string `json:"extended"`
	Subscriptions   any               `json:"subscriptions"`
	HTTPEndpoints   []any             `json:"httpEndpoints"`
	App             *AppConnection    `json:"appConnectionProperties,omitempty"`
	ActorRuntime    actorRuntime      `json:"actorRuntime"`
}

// Snapshot returns the current answer (also used by tests and a gRPC adapter later).
func (m *Metadata) Snapshot() any {
	ext := make(map[string]string)
	m.mu.RLock()
	for k, v := range m.extended {
		ext[k] = v
	}
	m.mu.RUnlock()
	if m.Extra != nil {
		for k, v := range m.Extra() {
			ext[k] = v
		}
	}
	comps := append([]Component(nil), m.info.Components...)
	sort.Slice(comps, func(i, j int) bool { return comps[i].Name < comps[j].Name })
	r := response{
		ID:              m.info.AppID,
		RuntimeVersion:  m.info.RuntimeVersion,
		EnabledFeatures: nonNil(m.info.EnabledFeatures),
		Actors:          []any{},
		Components:      comps,
		Extended:        ext,
		Subscriptions:   []any{},
		HTTPEndpoints:   []any{},
		ActorRuntime:    actorRuntime{RuntimeStatus: "DISABLED"},
	}
	if m.Subscriptions != nil {
		r.Subscriptions = m.Subscriptions()
	}
	if m.info.App.Port != 0 {
		app := m.info.App
		if app.Health != nil && m.AppHealthStatus != nil {
			h := *app.Health
			h.HealthStatus = m.AppHealthStatus()
			app.Health = &h
		}
		r.App = &app
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (m *Metadata) get(c *router.Ctx) {
	b, err := json.Marshal(m.Snapshot())
	if err != nil {
		c.Error(apierr.MetadataGet, "failed to get metadata: "+err.Error())
		return
	}
	c.JSON(200)
	c.RespBody = append(c.RespBody, b...)
}

func (m *Metadata) put(c *router.Ctx) {
	key := string(c.ParamDecoded(0))
	m.Set(key, string(c.Body))
	c.SetStatus(204)
}
