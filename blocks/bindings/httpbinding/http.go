package httpbinding

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
)

const defaultMaxResponseBody = 100 << 20 // Dapr's 100 MB

// Binding is one bindings.http component.
type Binding struct {
	url           string
	client        *http.Client
	errorIfNot2XX bool
	timeout       time.Duration
	maxBody       int64
	tokenHeader   string
	token         string
}

// New reads the component metadata.
func New(md map[string]string) (*Binding, error) {
	b := &Binding{errorIfNot2XX: true, maxBody: defaultMaxResponseBody}
	b.url, _ = bindings.Lookup(md, "url")
	if b.url == "" {
		return nil, errors.New("metadata url is required")
	}
	for _, k := range []string{"mtlsRootCA", "mtlsClientCert", "mtlsClientKey", "mtlsRenegotiation"} {
		if v, _ := bindings.Lookup(md, k); v != "" {
			return nil, fmt.Errorf("metadata %s: mTLS is not supported by skiff's bindings.http yet", k)
		}
	}
	if v, _ := bindings.Lookup(md, "responseTimeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("metadata responseTimeout: %w", err)
		}
		b.timeout = d
	}
	if v, _ := bindings.Lookup(md, "maxResponseBodySize"); v != "" {
		n, err := ParseByteSize(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for maxResponseBodySize: %w", err)
		}
		b.maxBody = n
	}
	if v, ok := md["errorIfNot2XX"]; ok && v != "" {
		b.errorIfNot2XX = bindings.IsTruthy(v)
	}
	b.token, _ = bindings.Lookup(md, "securityToken")
	b.tokenHeader, _ = bindings.Lookup(md, "securityTokenHeader")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	b.client = &http.Client{Transport: tr}
	return b, nil
}

// parseDuration accepts Go durations and, as Dapr's decoder does, a bare
// number of milliseconds.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	return time.ParseDuration(v)
}

// ParseByteSize reads "1048576", "512Ki", "100Mi", "1Gi", "10M", "1k".
func ParseByteSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1000}, {"K", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSuffix(v, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a byte size", v)
	}
	return n * mult, nil
}

// Operations implements bindings.Output.
func (b *Binding) Operations() []string {
	return []string{"create", "get", "head", "post", "put", "patch", "delete", "options", "trace"}
}

// Invoke implements bindings.Output.
func (b *Binding) Invoke(ctx context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	u := b.url
	if p := req.Metadata["path"]; p != "" {
		u = strings.TrimRight(u, "/") + "/" + strings.TrimLeft(p, "/")
	}
	errorIfNot2XX := b.errorIfNot2XX
	if v := req.Metadata["errorIfNot2XX"]; v != "" {
		errorIfNot2XX = bindings.IsTruthy(v)
	}
	method := strings.ToUpper(req.Operation)
	if method == "CREATE" {
		method = "POST"
	}
	var body io.Reader
	switch method {
	case "PUT", "POST", "PATCH":
		body = bytes.NewReader(req.Data)
	case "GET", "HEAD", "DELETE", "OPTIONS", "TRACE":
	default:
		return nil, fmt.Errorf("invalid operation: %s", req.Operation)
	}
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		if _, ok := req.Metadata["Content-Type"]; !ok {
			hr.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
	}
	if _, ok := req.Metadata["Accept"]; !ok {
		hr.Header.Set("Accept", "application/json; charset=utf-8")
	}
	if b.token != "" && b.tokenHeader != "" {
		hr.Header.Set(b.tokenHeader, b.token)
	}
	for k, v := range req.Metadata {
		if k != "" && k[0] >= 'A' && k[0] <= 'Z' {
			hr.Header.Set(k, v)
		}
	}
	for _, k := range []string{"traceparent", "tracestate", "baggage"} {
		if v := req.Metadata[k]; v != "" {
			hr.Header.Set(k, v)
		}
	}
	resp, err := b.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}()
	var rd io.Reader = resp.Body
	if b.maxBody > 0 {
		rd = io.LimitReader(resp.Body, b.maxBody)
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	md := make(map[string]string, len(resp.Header)+2)
	md["statusCode"] = strconv.Itoa(resp.StatusCode)
	md["status"] = resp.Status
	for k, vs := range resp.Header {
		md[k] = strings.Join(vs, ", ")
	}
	out := &bindings.InvokeResponse{Data: data, Metadata: md}
	if errorIfNot2XX && resp.StatusCode/100 != 2 {
		return out, fmt.Errorf("received status code %d", resp.StatusCode)
	}
	return out, nil
}

// Close implements bindings.Output.
func (b *Binding) Close() error {
	b.client.CloseIdleConnections()
	return nil
}
