package pubsub_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/memory"
	"github.com/skiffd/skiff/dataplane/appchannel"
)

// rawApp is a minimal app on a raw TCP listener: it answers
// GET /dapr/subscribe and every POST with {"status":"SUCCESS"}, writing
// answers only when it has no more requests buffered, so that its own cost
// stays small and constant next to the sidecar's.
type rawApp struct {
	ln    net.Listener
	count atomic.Int64
}

func newRawApp(tb testing.TB) *rawApp {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	a := &rawApp{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.serve(c)
		}
	}()
	return a
}

func (a *rawApp) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	bw := bufio.NewWriterSize(c, 64<<10)
	const ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"status\":\"SUCCESS\"}"
	const subs = `[{"pubsubname":"ps","topic":"t","route":"/t"}]`
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		isGet := bytes.HasPrefix(line, []byte("GET "))
		cl := 0
		for {
			h, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(h) <= 2 {
				break
			}
			if len(h) > 15 && bytes.EqualFold(h[:15], []byte("content-length:")) {
				v := h[15:]
				cl, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if _, err := br.Discard(cl); err != nil {
			return
		}
		if isGet {
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(subs)) + "\r\n\r\n" + subs)
		} else {
			bw.WriteString(ok)
			a.count.Add(1)
		}
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
	}
}

// BenchmarkPipelinedDelivery: publish then pipelined delivery of one small
// event to the app, per op (sidecar side plus a minimal app).
func BenchmarkPipelinedDelivery(b *testing.B) {
	app := newRawApp(b)
	defer app.ln.Close()
	addr := app.ln.Addr().(*net.TCPAddr)
	ch, err := appchannel.New(appchannel.Config{Address: "127.0.0.1", Port: addr.Port})
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	bus, _ := memory.New("ps", nil)
	defer bus.Close()
	api, err := pubsub.New(pubsub.Config{AppID: "app"}, []pubsub.Entry{{Name: "ps", Type: "pubsub.in-memory", Component: bus}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api.Start(ctx, ch, nil, &pubsub.PipeTarget{Addr: addr.String(), Window: 64})
	c := api.Lookup([]byte("ps"))
	body := []byte(`{"orderId":1}`)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		in := pubsub.PublishInput{Topic: []byte("t"), ContentType: []byte("application/json"), Body: body}
		for {
			f := api.Publish(ctx, c, &in)
			if f == nil {
				break
			}
			if !bytes.Contains([]byte(f.Msg), []byte("full")) {
				b.Fatal(f.Msg)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for app.count.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d delivered", app.count.Load(), b.N)
		}
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time in ns: on a shared machine
// the CPU spent per message says more than the wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
