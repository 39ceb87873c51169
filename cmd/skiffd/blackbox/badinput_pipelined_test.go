package blackbox

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pipeReq is one request of a pipeline and a check of its answer.
type pipeReq struct {
	raw    string
	method string
	check  func(r Resp) error
}

// pipeline builds n mixed requests: state saves then gets of the same key
// (the get must see the save: order), healthz, invocations (some slow, so
// later inline answers must wait for them), unknown routes, a bad-store
// error and a HEAD.
func pipeline(appID string, tag string, n int) []pipeReq {
	var reqs []pipeReq
	status := func(want int, body string) func(Resp) error {
		return func(r Resp) error {
			if r.Status != want || (body != "\x00" && string(r.Body) != body) {
				return fmt.Errorf("got %d %q, want %d %q", r.Status, trunc(r.Body), want, body)
			}
			return nil
		}
	}
	for i := 0; len(reqs) < n; i++ {
		key := tag + "-" + strconv.Itoa(i)
		val := `{"i":` + strconv.Itoa(i) + `,"tag":"` + tag + `"}`
		save := `[{"key":"` + key + `","value":` + val + `}]`
		body := "pipelined " + key
		switch i % 8 {
		case 0:
			reqs = append(reqs, pipeReq{
				raw:   "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(save)) + "\r\n\r\n" + save,
				check: status(204, ""),
			}, pipeReq{
				raw:   "GET /v1.0/state/statestore/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n",
				check: status(200, val),
			})
		case 1:
			reqs = append(reqs, pipeReq{raw: "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", check: status(204, "")})
		case 2:
			reqs = append(reqs, pipeReq{
				raw:   "POST /v1.0/invoke/" + appID + "/method/echo-raw/" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body,
				check: status(200, body),
			})
		case 3:
			reqs = append(reqs, pipeReq{
				raw:   "GET /v1.0/invoke/" + appID + "/method/slow/" + strconv.Itoa(5+i%20) + " HTTP/1.1\r\nHost: x\r\n\r\n",
				check: status(200, "slept "+strconv.Itoa(5+i%20)),
			})
		case 4:
			reqs = append(reqs, pipeReq{
				raw: "GET /no/such/route/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n",
				check: func(r Resp) error {
					if r.Status != 404 || !strings.Contains(string(r.Body), "ERR_DIRECT_INVOKE") {
						return fmt.Errorf("unknown route: %d %q", r.Status, trunc(r.Body))
					}
					return nil
				},
			})
		case 5:
			reqs = append(reqs, pipeReq{
				raw: "GET /v1.0/state/nostore/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n",
				check: func(r Resp) error {
					if r.Status != 400 || !strings.Contains(string(r.Body), "ERR_STATE_STORE_NOT_FOUND") {
						return fmt.Errorf("unknown store: %d %q", r.Status, trunc(r.Body))
					}
					return nil
				},
			})
		case 6:
			reqs = append(reqs, pipeReq{
				raw: "GET /v1.0/invoke/" + appID + "/method/echo/" + key + "?n=" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: x\r\nX-Seq: " + strconv.Itoa(i) + "\r\n\r\n",
				check: func(r Resp) error {
					if r.Status != 200 || !strings.Contains(string(r.Body), `"path":"/echo/`+key+`"`) || !strings.Contains(string(r.Body), `"X-Seq":"`+strconv.Itoa(i)+`"`) {
						return fmt.Errorf("echo %s: %d %q", key, r.Status, trunc(r.Body))
					}
					return nil
				},
			})
		case 7:
			reqs = append(reqs, pipeReq{raw: "HEAD /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", method: "HEAD", check: func(r Resp) error {
				if r.Status >= 500 || len(r.Body) != 0 {
					return fmt.Errorf("HEAD healthz: %d %q", r.Status, r.Body)
				}
				return nil
			}}, pipeReq{raw: "DELETE /v1.0/state/statestore/" + tag + "-0 HTTP/1.1\r\nHost: x\r\n\r\n", check: status(204, "")})
		}
	}
	return reqs[:n]
}

// TestBadInputPipelined: 50 mixed requests pipelined on one connection, in
// one write and in random splits: the answers come in order and are right.
func TestBadInputPipelined(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "pipes", AppPort: app.Port})

	run := func(t *testing.T, tag string, split func(string) []string) {
		reqs := pipeline("pipes", tag, 50)
		var all strings.Builder
		for _, r := range reqs {
			all.WriteString(r.raw)
		}
		c := s.dialRaw()
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		werr := make(chan error, 1)
		go func() {
			for _, p := range split(all.String()) {
				if _, err := c.Write([]byte(p)); err != nil {
					werr <- err
					return
				}
			}
			werr <- nil
		}()
		br := bufio.NewReader(c)
		for i, rq := range reqs {
			m := rq.method
			if m == "" {
				m = "GET"
			}
			r, err := readResp(br, m)
			if err != nil {
				t.Fatalf("answer %d of %d: %v", i+1, len(reqs), err)
			}
			if err := rq.check(r); err != nil {
				t.Errorf("answer %d (%q): %v", i+1, firstLine(rq.raw), err)
			}
		}
		if err := <-werr; err != nil {
			t.Errorf("write: %v", err)
		}
		// Nothing more comes, and the connection is still usable.
		writeAll(c, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if r, err := readResp(br, "GET"); err != nil || r.Status != 204 {
			t.Errorf("after the pipeline: %v %d", err, r.Status)
		}
	}

	s.underAbuse(true, func() {
		t.Run("one write", func(t *testing.T) {
			run(t, "one", func(s string) []string { return []string{s} })
		})
		for seed := range uint64(4) {
			t.Run(fmt.Sprint("random splits ", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 99))
				run(t, fmt.Sprint("split", seed), func(s string) []string {
					var parts []string
					for len(s) > 0 {
						n := min(len(s), 1+rng.IntN(200))
						if rng.IntN(10) == 0 {
							n = 1
						}
						parts = append(parts, s[:n])
						s = s[n:]
					}
					return parts
				})
			})
		}
		t.Run("byte by byte", func(t *testing.T) {
			run(t, "bytes", func(s string) []string {
				parts := make([]string, len(s))
				for i := range s {
					parts[i] = s[i : i+1]
				}
				return parts
			})
		})
		t.Run("many connections at once", func(t *testing.T) {
			errs := make(chan error, 8)
			for k := range 8 {
				go func() {
					reqs := pipeline("pipes", fmt.Sprint("conc", k), 50)
					var all strings.Builder
					for _, r := range reqs {
						all.WriteString(r.raw)
					}
					c, err := net.Dial("tcp", s.Addr())
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(15 * time.Second))
					go writeAll(c, all.String())
					br := bufio.NewReader(c)
					for i, rq := range reqs {
						m := rq.method
						if m == "" {
							m = "GET"
						}
						r, err := readResp(br, m)
						if err == nil {
							err = rq.check(r)
						}
						if err != nil {
							errs <- fmt.Errorf("connection %d, answer %d: %v", k, i+1, err)
							return
						}
					}
					errs <- nil
				}()
			}
			for range 8 {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	})
}

func firstLine(s string) string {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
