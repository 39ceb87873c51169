package invoke

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/router"
)

// serveWithPolicy is ServeHTTP under a resiliency policy, as daprd runs
// it: each attempt bounded by the timeout and guarded by the endpoint's
// breaker (app:method); an answer outside 200–399 is a failure, retried
// (subject to the policy's matching codes) and, once retries are spent,
// relayed to the caller as the app sent it. A timeout or an open breaker
// is 500 ERR_DIRECT_INVOKE naming the cause.
func (s *Service) serveWithPolicy(ctx context.Context, c *router.Ctx, cl *call, target []byte) {
	if e := s.check(target); e != nil {
		c.Error(e.API, e.Msg)
		return
	}
	pol := s.cfg.Policy.For(strings.TrimPrefix(string(cl.path), "/"))
	req, resp := &cl.req, &cl.resp
	if req.BodyStream != nil && pol.HasRetries() {
		// Keep the body for replay when it fits the limit; else send it
		// once, as it comes.
		buf, complete, err := readUpTo(req.BodyStream, s.cfg.ReplayLimit)
		if err != nil {
			e := failed(target, err.Error())
			c.Error(e.API, e.Msg)
			return
		}
		if complete {
			req.Body, req.BodyStream = buf, nil
		} else {
			req.BodyStream = io.MultiReader(bytes.NewReader(buf), req.BodyStream)
			pol = pol.WithoutRetries()
		}
	}
	// Each attempt runs in its own context, cancelled when the attempt ends
	// (a timeout would cut it): a success is relayed within its attempt, as
	// daprd does; a failure's answer is copied and its connection released
	// within the attempt, to be relayed if no retry succeeds.
	var last failedAnswer
	err := pol.Run(ctx, func(ctx context.Context) error {
		last.reset()
		if err := s.cfg.Channel.Do(ctx, req, resp); err != nil {
			return err
		}
		defer resp.Close()
		if resp.Status < 200 || resp.Status > 399 {
			if err := last.keep(resp); err != nil {
				return err
			}
			return &resiliency.CodeError{Code: resp.Status}
		}
		s.answer(c, cl, resp, resp.Status, resp.ContentLength, resp.Body, resp.BodyStream)
		return nil
	})
	var ce *resiliency.CodeError
	switch {
	case err == nil:
	case last.kept && errors.As(err, &ce):
		last.relay(c)
	default:
		e := failed(target, err.Error())
		c.Error(e.API, e.Msg)
	}
}

// failedAnswer is a copy of the app's failing answer.
type failedAnswer struct {
	kept   bool
	status int
	hdrs   []byte
	typed  bool
	body   []byte
}

func (f *failedAnswer) reset() {
	f.kept, f.status, f.typed = false, 0, false
	f.hdrs, f.body = f.hdrs[:0], f.body[:0]
}

// keep copies resp (its body is bounded by the channel's response limit).
func (f *failedAnswer) keep(resp *appchannel.Response) error {
	f.status = resp.Status
	f.hdrs = appendResponseHeaders(f.hdrs[:0], resp)
	f.typed = resp.Header("Content-Type") != nil
	f.body = append(f.body[:0], resp.Body...)
	if resp.BodyStream != nil {
		b := bytes.NewBuffer(f.body)
		if _, err := b.ReadFrom(resp.BodyStream); err != nil {
			return err
		}
		f.body = b.Bytes()
	}
	f.kept = true
	return nil
}

func (f *failedAnswer) relay(c *router.Ctx) {
	c.SetStatus(f.status)
	c.AppendRawHeaders(f.hdrs)
	if len(f.body) > 0 && !f.typed {
		c.SetHeader("Content-Type", http.DetectContentType(f.body))
	}
	_, _ = c.Write(f.body)
}

// readUpTo reads r to its end if it holds at most limit bytes; complete is
// false (and buf what was read) when there is more.
func readUpTo(r io.Reader, limit int64) (buf []byte, complete bool, err error) {
	if limit <= 0 {
		return nil, false, nil
	}
	buf, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(buf)) > limit {
		return buf, false, nil
	}
	return buf, true, nil
}
