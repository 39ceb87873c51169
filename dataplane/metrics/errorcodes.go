package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

const errorCodeTotal = "dapr_error_code_total"

// ErrorCodes records daprd's dapr_error_code_total{app_id, category,
// error_code}: one count per API error answered, when Configuration
// spec.metric.recordErrorCodes is true. A nil *ErrorCodes records nothing.
type ErrorCodes struct {
	appID string
	rules rules
	vec   *prometheus.CounterVec

	series atomic.Pointer[map[string]prometheus.Counter]
	mu     sync.Mutex
}

func newErrorCodes(reg prometheus.Registerer, appID string, rs rules) *ErrorCodes {
	e := &ErrorCodes{appID: appID, rules: rs}
	e.vec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: errorCodeTotal,
		Help: "Total number of times an error with a specific error code was encountered.",
	}, []string{"app_id", "category", "error_code"})
	reg.MustRegister(e.vec)
	empty := map[string]prometheus.Counter{}
	e.series.Store(&empty)
	return e
}

// Record counts one error. The code's first sighting resolves its handle;
// later ones do not allocate.
func (e *ErrorCodes) Record(category, code string) {
	if e == nil || category == "" || code == "" {
		return
	}
	if c := (*e.series.Load())[code]; c != nil {
		c.Inc()
		return
	}
	e.resolve(category, code).Inc()
}

func (e *ErrorCodes) resolve(category, code string) prometheus.Counter {
	lv := []string{e.appID, category, code}
	e.rules.apply(errorCodeTotal, []string{"app_id", "category", "error_code"}, lv)
	c := e.vec.WithLabelValues(lv...)
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.series.Load()
	if prev := old[code]; prev != nil {
		return prev
	}
	m := make(map[string]prometheus.Counter, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[code] = c
	e.series.Store(&m)
	return c
}
