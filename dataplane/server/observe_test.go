package server

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/skiffd/skiff/dataplane/metrics"
)

func TestCORSMatrix(t *testing.T) {
	type want struct {
		status int
		hdr    map[string]string // "" value: must be absent
		vary   []string
	}
	cases := []struct {
		name    string
		origins string
		token   string
		req     string
		want    want
	}{
		{"default actual with origin", "*", "", "GET /hello/x HTTP/1.1\r\nHost: h\r\nOrigin: http://a.example\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}, []string{"Origin"}}},
		{"default actual without origin", "*", "", "GET /hello/x HTTP/1.1\r\nHost: h\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}}},
		{"default on 404", "*", "", "GET /nope HTTP/1.1\r\nHost: h\r\nOrigin: http://a\r\n\r\n",
			want{404, map[string]string{"Access-Control-Allow-Origin": "*"}, []string{"Origin"}}},
		{"default preflight", "*", "", "OPTIONS /hello/x HTTP/1.1\r\nHost: h\r\nOrigin: http://a\r\nAccess-Control-Request-Method: put\r\nAccess-Control-Request-Headers: content-type, dapr-api-token\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PUT",
				"Access-Control-Allow-Headers": "Content-Type, Dapr-Api-Token", "Access-Control-Allow-Credentials": "true"},
				[]string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}}},
		{"preflight skips the token", "*", "tok", "OPTIONS /secret HTTP/1.1\r\nHost: h\r\nOrigin: http://a\r\nAccess-Control-Request-Method: GET\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": "*"}, nil}},
		{"preflight bad method", "*", "", "OPTIONS /x HTTP/1.1\r\nHost: h\r\nOrigin: http://a\r\nAccess-Control-Request-Method: TRACE\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}, nil}},
		{"list allowed", "http://a.example,https://*.b.example", "", "GET /hello/x HTTP/1.1\r\nHost: h\r\nOrigin: https://x.B.example\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": "https://x.B.example", "Access-Control-Allow-Credentials": ""}, []string{"Origin"}}},
		{"list refused", "http://a.example", "", "GET /hello/x HTTP/1.1\r\nHost: h\r\nOrigin: http://evil\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}}},
		{"list preflight", "http://a.example", "", "OPTIONS /echo HTTP/1.1\r\nHost: h\r\nOrigin: http://a.example\r\nAccess-Control-Request-Method: DELETE\r\n\r\n",
			want{200, map[string]string{"Access-Control-Allow-Origin": "http://a.example", "Access-Control-Allow-Methods": "DELETE"}, nil}},
		{"token refusal keeps CORS", "*", "tok", "GET /secret HTTP/1.1\r\nHost: h\r\nOrigin: http://a\r\n\r\n",
			want{401, map[string]string{"Access-Control-Allow-Origin": "*"}, []string{"Origin"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := testServer(t, func(c *Config) { c.CORS = NewCORS(tc.origins); c.APIToken = tc.token })
			c := dial(t, addr)
			fmt.Fprint(c, tc.req)
			method := strings.Fields(tc.req)[0]
			resp, _ := readResp(t, bufio.NewReader(c), method)
			if resp.StatusCode != tc.want.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want.status)
			}
			for k, v := range tc.want.hdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.want.vary != nil && strings.Join(resp.Header.Values("Vary"), ",") != strings.Join(tc.want.vary, ",") {
				t.Errorf("Vary %q, want %q", resp.Header.Values("Vary"), tc.want.vary)
			}
		})
	}
}

func TestMetricsThroughServer(t *testing.T) {
	m := metrics.New(metrics.Options{AppID: "app", Enabled: true, IncreasedCardinality: true})
	addr, _ := testServer(t, func(c *Config) { c.Metrics = m.HTTP })
	c := dial(t, addr)
	br := bufio.NewReader(c)
	fmt.Fprint(c, "GET /hello/a HTTP/1.1\r\nHost: h\r\n\r\n")
	readResp(t, br, "GET")
	fmt.Fprint(c, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde")
	readResp(t, br, "POST")
	fmt.Fprint(c, "GET /big/100000 HTTP/1.1\r\nHost: h\r\n\r\n")
	readResp(t, br, "GET")
	fmt.Fprint(c, "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n")
	readResp(t, br, "GET")

	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var count, resp *dto.MetricFamily
	for _, f := range fams {
		switch f.GetName() {
		case "dapr_http_server_request_count":
			count = f
		case "dapr_http_server_response_bytes":
			resp = f
		}
	}
	seen := map[string]bool{}
	for _, mm := range count.GetMetric() {
		var parts []string
		for _, l := range mm.GetLabel() {
			parts = append(parts, l.GetValue())
		}
		seen[strings.Join(parts, " ")] = true
	}
	for _, k := range []string{"app GET /hello/a 200", "app POST /echo 200", "app GET /big/100000 200", "app GET /nope 404"} {
		if !seen[k] {
			t.Errorf("missing series %q in %v", k, seen)
		}
	}
	// Response bodies: "hello a" (7) + "abcde" (5) + 100000 streamed + the 404 JSON.
	h := resp.GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 4 || h.GetSampleSum() < 100012 || h.GetSampleSum() > 100200 {
		t.Errorf("response bytes count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAPILogFields(t *testing.T) {
	var out syncBuf
	log := slog.New(slog.NewJSONHandler(&out, nil)).With("app_id", "app")
	addr, _ := testServer(t, func(c *Config) { c.Logger = log; c.APILogging = true; c.APIToken = "s3cret" })
	c := dial(t, addr)
	br := bufio.NewReader(c)
	fmt.Fprint(c, "GET /secret?token=q HTTP/1.1\r\nHost: h\r\ndapr-api-token: s3cret\r\nUser-Agent: ua/1\r\n\r\n")
	readResp(t, br, "GET")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "HTTP API Called") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	line := out.String()
	for _, want := range []string{`"msg":"HTTP API Called"`, `"app_id":"app"`, `"method":"GET /secret"`, `"code":200`, `"size":2`, `"duration":`, `"useragent":"ua/1"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, "s3cret") || strings.Contains(line, "token=q") {
		t.Errorf("log line leaks the token or query: %s", line)
	}
}
