package main

import (
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

type app struct {
	subscribe bool
	orders    atomic.Int64 // events received on /orders
	neworders atomic.Int64 // ids handed out by /neworder
}

func newApp(subscribe bool) *app { return &app{subscribe: subscribe} }

// subscription: the in-memory pubsub, plus the broker components the
// suite loads for its redis-publish / jetstream-publish(-parallel) scenarios (a
// sidecar skips subscriptions to pubsubs it does not have).
const subscription = `[{"pubsubname":"pubsub","topic":"orders","route":"/orders"},` +
	`{"pubsubname":"redispubsub","topic":"bench-orders","route":"/orders"},` +
	`{"pubsubname":"jspubsub","topic":"bench-orders","route":"/orders"},` +
	`{"pubsubname":"jsparpubsub","topic":"bench-orders-par","route":"/orders"}]`

func (a *app) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /neworder", a.newOrder)
	mux.HandleFunc("GET /dapr/subscribe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if a.subscribe {
			io.WriteString(w, subscription)
			return
		}
		io.WriteString(w, "[]")
	})
	mux.HandleFunc("GET /dapr/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		a.orders.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"SUCCESS"}`)
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, strconv.FormatInt(a.orders.Load(), 10))
	})
	mux.HandleFunc("DELETE /count", func(w http.ResponseWriter, r *http.Request) {
		a.orders.Store(0)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (a *app) newOrder(w http.ResponseWriter, r *http.Request) {
	// Read the body as a real handler would; its content does not matter.
	io.Copy(io.Discard, r.Body)
	id := a.neworders.Add(1)
	w.Header().Set("Content-Type", "application/json")
	b := make([]byte, 0, 64)
	b = append(b, `{"orderId":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"status":"accepted"}`...)
	w.Write(b)
}
