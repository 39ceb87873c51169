package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/skiffd/skiff/blocks/metadata"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/apphealth"
)

// newAppHealth returns the app health monitor for --enable-app-health-check,
// or nil when the check is off (or there is no app to probe).
func (cs *componentSet) newAppHealth(env *blockEnv, ch *appchannel.Client) (*apphealth.Monitor, error) {
	o := env.o
	if !o.appHealthCheck || ch == nil {
		return nil, nil
	}
	cfg := appHealthConfig(o)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Probes bypass --app-max-concurrency, as daprd's do: a busy app must
	// not look unhealthy because its slots are taken.
	pc := ch.Settings()
	pc.MaxConcurrency = -1
	pc.HealthProbe = true // dapr_http_healthprobes_*, not dapr_http_client_*
	probe, err := appchannel.New(pc)
	if err != nil {
		return nil, fmt.Errorf("app health probe channel: %w", err)
	}
	cs.closers = append(cs.closers, probe)
	return apphealth.New(cfg, probe, env.log), nil
}

func appHealthConfig(o *options) apphealth.Config {
	path := o.appHealthCheckPath
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return apphealth.Config{
		Path:      path,
		Interval:  time.Duration(o.appHealthInterval) * time.Second,
		Timeout:   time.Duration(o.appHealthTimeout) * time.Millisecond,
		Threshold: o.appHealthThreshold,
	}
}

// appHealthMetadata is appConnectionProperties.health of the metadata API,
// as daprd fills it; nil when the check is off.
func appHealthMetadata(o *options) *metadata.AppHealth {
	if !o.appHealthCheck || o.appPort == "" {
		return nil
	}
	c := appHealthConfig(o)
	return &metadata.AppHealth{
		HealthCheckPath:     c.Path,
		HealthProbeInterval: c.Interval.String(),
		HealthProbeTimeout:  c.Timeout.String(),
		HealthThreshold:     c.Threshold,
	}
}

// appHealthStatus is skiff's addition to the metadata health object.
func (cs *componentSet) appHealthStatus() string {
	if cs.appHealth.Healthy() {
		return "HEALTHY"
	}
	return "UNHEALTHY"
}

// appHealthy is service invocation's check; nil when the check is off.
func (cs *componentSet) appHealthy() func() bool {
	if cs.appHealth == nil {
		return nil
	}
	return cs.appHealth.Healthy
}

// deliveryApp is the app channel for pub/sub and input bindings: with app
// health checks on, their calls wait while the app is unhealthy.
func (cs *componentSet) deliveryApp() apphealth.Doer {
	if cs.appHealth == nil {
		return cs.channel
	}
	return &apphealth.Gate{App: cs.channel, Monitor: cs.appHealth}
}

// startAppHealth starts the probes once the app listens.
func (cs *componentSet) startAppHealth(ctx context.Context, _ *blockEnv) error {
	if cs.appHealth != nil {
		go cs.appHealth.Run(ctx)
	}
	return nil
}
