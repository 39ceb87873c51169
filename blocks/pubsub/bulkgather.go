package pubsub

import (
	"context"
	"time"
)

// bulkGather is daprd's default bulk subscriber for components without
// BulkSubscriber (the brokers): the component's handler calls, made as
// concurrently as the component allows, hand their message to one gathering
// goroutine and wait; it delivers what gathered as one batch when
// maxCount messages are in or at the next maxAwait tick, as daprd does,
// then answers every waiting call with its message's result. So a broker
// acknowledges (or redelivers) each message only after the app's bulk
// answer for it.
type bulkGather struct {
	in       chan gathered
	stop     <-chan struct{} // the subscription's end: run has returned
	maxCount int
	maxAwait time.Duration
	h        BulkHandler
}

// gathered is one handler call waiting for its batch.
type gathered struct {
	msg  *Message
	done chan error // capacity 1
}

// subscribeGathered subscribes through ps.Subscribe with batches for h.
func subscribeGathered(ctx context.Context, ps PubSub, req SubscribeRequest, maxCount int, maxAwait time.Duration, h BulkHandler) error {
	g := &bulkGather{in: make(chan gathered), stop: ctx.Done(), maxCount: max(1, maxCount), maxAwait: maxAwait, h: h}
	if g.maxAwait <= 0 {
		g.maxAwait = time.Second
	}
	if err := ps.Subscribe(ctx, req, g.handle); err != nil {
		return err
	}
	go g.run(ctx)
	return nil
}

// handle is the component's Handler: it waits for the message's batch.
func (g *bulkGather) handle(ctx context.Context, msg *Message) error {
	it := gathered{msg: msg, done: make(chan error, 1)}
	select {
	case g.in <- it:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return context.Canceled
	}
	// The gatherer answers every message it took, even when ctx ends
	// (with ctx's error), so this cannot wait forever.
	return <-it.done
}

// run gathers and delivers batches until ctx ends.
func (g *bulkGather) run(ctx context.Context) {
	tick := time.NewTicker(g.maxAwait)
	defer tick.Stop()
	batch := make([]gathered, 0, g.maxCount)
	msgs := make([]*Message, 0, g.maxCount)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		msgs = msgs[:0]
		for _, it := range batch {
			msgs = append(msgs, it.msg)
		}
		errs := g.h(ctx, msgs)
		for i, it := range batch {
			var err error
			if i < len(errs) {
				err = errs[i]
			}
			it.done <- err
		}
		batch = batch[:0]
	}
	for {
		select {
		case <-ctx.Done():
			for _, it := range batch {
				it.done <- ctx.Err()
			}
			return
		case it := <-g.in:
			batch = append(batch, it)
			if len(batch) >= g.maxCount {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}
