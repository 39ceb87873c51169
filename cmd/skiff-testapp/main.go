// Command skiff-testapp is the app process that skiffd's black-box tests put
// behind the sidecar. It is a plain net/http server on --port:
//
//	/echo/...       any method: 200 with JSON {method, path, rawQuery, headers, body}
//	                (body as a string; header names canonical, values joined by ", ")
//	/echo-raw/...   any method: 200 with the request body as is, and the
//	                request's Content-Type; the header X-Body-Len is its length
//	/status/{code}  answers that status with the body "status {code}"
//	/big/{n}        streams n bytes (chunked) of Pattern
//	/slow/{ms}      sleeps ms milliseconds, then 200 "slept {ms}"
//	/count          POST increments, GET reads, DELETE resets: {"count":n}
//	/dapr/subscribe []
//	/dapr/config    {}
//
// It logs nothing unless --verbose.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Pattern returns byte i of the deterministic /big stream.
func Pattern(i int) byte { return byte('a' + (i*7+i/251)%26) }

// Echo is the JSON /echo answers with.
type Echo struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	RawQuery string            `json:"rawQuery"`
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
}

func main() {
	port := flag.Int("port", 6001, "port to listen on (127.0.0.1)")
	verbose := flag.Bool("verbose", false, "log every request to stderr")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff-testapp:", err)
		os.Exit(1)
	}
	var h http.Handler = newMux()
	if *verbose {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.Printf("%s %s", r.Method, r.RequestURI)
			inner.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "skiff-testapp:", err)
		os.Exit(1)
	}
}

func newMux() *http.ServeMux {
	var count atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/echo/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e := Echo{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Headers: map[string]string{}, Body: string(body)}
		for k, v := range r.Header {
			e.Headers[k] = strings.Join(v, ", ")
		}
		e.Headers["Host"] = r.Host
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-App-Reply", "echo")
		_ = json.NewEncoder(w).Encode(&e)
	})
	mux.HandleFunc("/echo-raw/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("X-Body-Len", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 100 || code > 999 {
			http.Error(w, "bad status", http.StatusBadRequest)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Status", strconv.Itoa(code))
		w.WriteHeader(code)
		if code != 204 && code != 304 && code >= 200 {
			fmt.Fprintf(w, "status %d", code)
		}
	})
	mux.HandleFunc("/big/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		buf := make([]byte, 32<<10)
		for off := 0; off < n; {
			k := min(len(buf), n-off)
			for i := range k {
				buf[i] = Pattern(off + i)
			}
			if _, err := w.Write(buf[:k]); err != nil {
				return
			}
			off += k
			if f, ok := w.(http.Flusher); ok {
				f.Flush() // no Content-Length: chunked
			}
		}
	})
	mux.HandleFunc("/slow/{ms}", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.PathValue("ms"))
		if err != nil || ms < 0 {
			http.Error(w, "bad duration", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "slept %d", ms)
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		switch r.Method {
		case http.MethodPost, http.MethodPut:
			n = count.Add(1)
		case http.MethodDelete:
			count.Store(0)
		default:
			n = count.Load()
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"count":%d}`, n)
	})
	mux.HandleFunc("/dapr/subscribe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
	})
	mux.HandleFunc("/dapr/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		// Sorted "Name: value" lines, handy for eyeballing.
		var lines []string
		for k, v := range r.Header {
			lines = append(lines, k+": "+strings.Join(v, ", "))
		}
		sort.Strings(lines)
		_, _ = io.WriteString(w, strings.Join(lines, "\n"))
	})
	return mux
}
