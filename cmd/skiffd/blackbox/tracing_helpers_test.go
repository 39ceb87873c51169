package blackbox

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// span is one span an otlpReceiver got.
type span struct {
	Name, TraceID, SpanID, Parent string
	Kind                          int32
	Attrs                         map[string]string
}

// otlpReceiver is an OTLP/HTTP trace receiver inside the test: POST
// /v1/traces with a protobuf ExportTraceServiceRequest.
type otlpReceiver struct {
	Port  int
	mu    sync.Mutex
	spans []span
}

func startOTLPReceiver(t testing.TB) *otlpReceiver {
	t.Helper()
	rc := &otlpReceiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc.Port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = gz
		}
		b, _ := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					sp := span{Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
						Parent: hex.EncodeToString(s.GetParentSpanId()), Kind: int32(s.GetKind()), Attrs: map[string]string{}}
					for _, kv := range s.GetAttributes() {
						sp.Attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
					}
					rc.spans = append(rc.spans, sp)
				}
			}
		}
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rc
}

// waitSpan polls until a span named name has arrived, or fails.
func (rc *otlpReceiver) waitSpan(t testing.TB, name string) span {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc.mu.Lock()
		for _, s := range rc.spans {
			if s.Name == name {
				rc.mu.Unlock()
				return s
			}
		}
		var names []string
		for _, s := range rc.spans {
			names = append(names, s.Name)
		}
		rc.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no span %q after 30 s; got %q", name, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tracingConfig writes a Configuration exporting to rc over OTLP/HTTP.
func tracingConfig(t testing.TB, rc *otlpReceiver, rate string) string {
	return writeFile(t, t.TempDir(), "config.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: tracing
spec:
  tracing:
    samplingRate: "`+rate+`"
    otel:
      endpointAddress: "127.0.0.1:`+strconv.Itoa(rc.Port)+`"
      protocol: http
      isSecure: false
`)
}
