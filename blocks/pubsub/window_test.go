package pubsub

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// lane answers deliveries in hand-out order from its own goroutine, as the
// pipelined connection does; fail decides an answer.
type lane struct {
	mu       sync.Mutex
	handed   []string // every hand-out, in order ("r" suffix: redelivery)
	inflight int
	maxIn    int
	ch       chan laneCall
	fail     func(data string, redelivered bool) bool
}

type laneCall struct {
	data string
	done func(error)
}

func newLane(fail func(string, bool) bool) *lane {
	l := &lane{ch: make(chan laneCall, 1024), fail: fail}
	go func() {
		for c := range l.ch {
			l.mu.Lock()
			l.inflight--
			l.mu.Unlock()
			var err error
			if l.fail != nil && l.fail(c.data, false) {
				err = errors.New("app said RETRY")
			}
			c.done(err)
		}
	}()
	return l
}

func (l *lane) h(_ context.Context, m *Message, done func(error)) {
	l.mu.Lock()
	d := string(m.Data)
	if m.Redelivered {
		d += "r"
	}
	l.handed = append(l.handed, d)
	l.inflight++
	l.maxIn = max(l.maxIn, l.inflight)
	l.mu.Unlock()
	l.ch <- laneCall{data: d, done: done}
}

func items(n int) chan Item[int] {
	c := make(chan Item[int], n)
	for i := range n {
		c <- Item[int]{Msg: Message{Data: []byte(strconv.Itoa(i))}, Tok: i}
	}
	close(c)
	return c
}

func TestOrderedWindowAndOrder(t *testing.T) {
	const n, w = 500, 16
	l := newLane(nil)
	var mu sync.Mutex
	var acked []int
	o := &Ordered[int]{Window: w, H: l.h, Ack: func(i int) { mu.Lock(); acked = append(acked, i); mu.Unlock() }}
	o.Run(context.Background(), items(n))
	if len(acked) != n {
		t.Fatalf("%d acknowledged, want %d", len(acked), n)
	}
	for i, a := range acked {
		if a != i {
			t.Fatalf("ack %d is message %d: answers come in order, so must acks", i, a)
		}
	}
	if l.maxIn > w {
		t.Errorf("%d in flight, window %d", l.maxIn, w)
	}
	if l.maxIn < 2 {
		t.Errorf("never more than %d in flight: no pipelining", l.maxIn)
	}
}

// A failed message comes again alone, after everything in flight settled
// and before anything new; the ones that succeeded meanwhile do not come
// again. The app here answers a full window at once (or a redelivery, or
// the last message), so the test does not depend on timing.
func TestOrderedRedeliversFailedFirst(t *testing.T) {
	const w = 4
	var handed []string
	var held []func(error)
	var heldData []string
	failedOnce := map[string]bool{}
	h := func(_ context.Context, m *Message, done func(error)) {
		d := string(m.Data)
		if m.Redelivered {
			d += "r"
		}
		handed = append(handed, d)
		held, heldData = append(held, done), append(heldData, d)
		if len(held) < w && !m.Redelivered && d != "11" {
			return
		}
		hs, ds := held, heldData
		held, heldData = nil, nil
		for i, done := range hs {
			if (ds[i] == "1" || ds[i] == "2") && !failedOnce[ds[i]] {
				failedOnce[ds[i]] = true
				done(errors.New("app said RETRY"))
				continue
			}
			done(nil)
		}
	}
	var mu sync.Mutex
	acks := map[int]int{}
	o := &Ordered[int]{Window: w, H: h, MinBackoff: time.Millisecond,
		Ack: func(i int) { mu.Lock(); acks[i]++; mu.Unlock() }}
	o.Run(context.Background(), items(12))
	for i := range 12 {
		if acks[i] != 1 {
			t.Errorf("message %d acknowledged %d times, want 1", i, acks[i])
		}
	}
	want := []string{"0", "1", "2", "3", "1r", "2r", "4", "5", "6", "7", "8", "9", "10", "11"}
	if !slices.Equal(handed, want) {
		t.Fatalf("hand-outs %v, want %v", handed, want)
	}
}

// Failed answers settle in any order: redeliveries still follow the
// topic's order.
func TestOrderedFailuresSortedBySeq(t *testing.T) {
	var mu sync.Mutex
	var handed []string
	var dones []func(error)
	h := func(_ context.Context, m *Message, done func(error)) {
		mu.Lock()
		defer mu.Unlock()
		d := string(m.Data)
		if m.Redelivered {
			handed = append(handed, d+"r")
			go done(nil)
			return
		}
		handed = append(handed, d)
		dones = append(dones, done)
	}
	src := make(chan Item[int], 3)
	for i := range 3 {
		src <- Item[int]{Msg: Message{Data: []byte(strconv.Itoa(i))}, Tok: i}
	}
	o := &Ordered[int]{Window: 3, H: h, MinBackoff: time.Millisecond}
	ended := make(chan struct{})
	go func() { o.Run(context.Background(), src); close(ended) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(dones)
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("window not filled")
		}
		time.Sleep(time.Millisecond)
	}
	fail := errors.New("retry")
	dones[2](fail)
	dones[0](fail)
	dones[1](nil)
	close(src)
	<-ended
	if want := []string{"0", "1", "2", "0r", "2r"}; !slices.Equal(handed, want) {
		t.Fatalf("hand-outs %v, want %v", handed, want)
	}
}

// Retry false gives a message up: no ack, no redelivery, the rest goes on.
func TestOrderedGiveUp(t *testing.T) {
	l := newLane(func(d string, _ bool) bool { return d == "2" })
	var acked []int
	var gaveUp []int
	o := &Ordered[int]{Window: 2, H: l.h,
		Ack:   func(i int) { acked = append(acked, i) },
		Retry: func(i, failures int) bool { gaveUp = append(gaveUp, i); return false }}
	o.Run(context.Background(), items(5))
	if !slices.Equal(gaveUp, []int{2}) || len(acked) != 4 || slices.Contains(acked, 2) {
		t.Fatalf("gave up %v, acked %v", gaveUp, acked)
	}
	if slices.Contains(l.handed, "2r") {
		t.Fatalf("hand-outs %v: a message given up came again", l.handed)
	}
}

// At shutdown Run waits for what is in flight and releases what failed.
func TestOrderedReleaseAtShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var held []func(error)
	h := func(_ context.Context, m *Message, done func(error)) {
		mu.Lock()
		held = append(held, done)
		mu.Unlock()
	}
	context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range held {
			d(errors.New("connection closed"))
		}
	})
	src := make(chan Item[int], 10)
	for i := range 10 {
		src <- Item[int]{Msg: Message{Data: []byte(strconv.Itoa(i))}, Tok: i}
	}
	var released []int
	o := &Ordered[int]{Window: 4, H: h, Release: func(i int) { released = append(released, i) }}
	ended := make(chan struct{})
	go func() { o.Run(ctx, src); close(ended) }()
	for {
		mu.Lock()
		n := len(held)
		mu.Unlock()
		if n == 4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end")
	}
	if !slices.Equal(released, []int{0, 1, 2, 3}) {
		t.Fatalf("released %v, want the 4 in flight", released)
	}
}

// Steady delivery allocates nothing per message.
func TestOrderedAllocs(t *testing.T) {
	h := func(_ context.Context, _ *Message, done func(error)) { done(nil) }
	run := func(n int) float64 {
		msg := Message{Data: []byte("x")}
		return testing.AllocsPerRun(20, func() {
			c := make(chan Item[int], n)
			for i := range n {
				c <- Item[int]{Msg: msg, Tok: i}
			}
			close(c)
			o := &Ordered[int]{Window: 8, H: h, Ack: func(int) {}}
			o.Run(context.Background(), c)
		})
	}
	small, large := run(10), run(1010)
	if large > small {
		t.Fatalf("%.0f allocations for 1010 messages, %.0f for 10: allocating per message", large, small)
	}
}
