package redisconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// Options are the parsed component metadata.
type Options struct {
	Host     string
	DB       int
	Client   rueidis.ClientOption
	Failover bool
}

// Parse reads Dapr's Redis metadata (redisHost, redisUsername,
// redisPassword, redisDB, enableTLS, clientCert/clientKey, redisType,
// failover, maxRetries/redisMaxRetries, maxRetryBackoff/
// redisMaxRetryInterval, redisMinRetryInterval, dialTimeout, writeTimeout,
// poolSize, …). what names the component in errors ("redis lock").
// Durations are Go durations ("5s") or integers in milliseconds, as
// Dapr's Redis settings accept them.
func Parse(md map[string]string, what string) (Options, error) {
	get := func(name string) string {
		if v, ok := md[name]; ok {
			return v
		}
		for k, v := range md {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	var o Options
	o.Host = get("redisHost")
	if o.Host == "" {
		return o, fmt.Errorf("%s: redisHost is empty", what)
	}
	co := rueidis.ClientOption{
		InitAddress:       strings.Split(o.Host, ","),
		Username:          get("redisUsername"),
		Password:          get("redisPassword"),
		DisableCache:      true, // no client-side caching: values must be fresh
		ForceSingleClient: true,
		ClientName:        "skiffd",
	}
	if v := get("redisDB"); v != "" {
		db, err := strconv.Atoi(v)
		if err != nil || db < 0 {
			return o, fmt.Errorf("%s: redisDB %q: want a database number", what, v)
		}
		o.DB, co.SelectDB = db, db
	}
	boolean := func(name string) (bool, error) {
		v := get(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s: %s %q: want true or false", what, name, v)
		}
		return b, nil
	}
	tlsOn, err := boolean("enableTLS")
	if err != nil {
		return o, err
	}
	if tlsOn {
		// As Dapr: TLS with the server's certificate not verified
		// (InsecureSkipVerify), optionally with a client certificate.
		cfg := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // daprd's behaviour
		if cert, key := get("clientCert"), get("clientKey"); cert != "" || key != "" {
			pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
			if err != nil {
				return o, fmt.Errorf("%s: clientCert/clientKey: %w", what, err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		co.TLSConfig = cfg
	}
	if o.Failover, err = boolean("failover"); err != nil {
		return o, err
	}
	if t := strings.ToLower(get("redisType")); t != "" && t != "node" {
		if t != "cluster" {
			return o, fmt.Errorf("%s: redisType %q: want node or cluster", what, t)
		}
		co.ForceSingleClient = false
	}
	if o.Failover {
		name := get("sentinelMasterName")
		if name == "" {
			return o, fmt.Errorf("%s: failover needs sentinelMasterName", what)
		}
		co.Sentinel = rueidis.SentinelOption{MasterSet: name, Username: get("sentinelUsername"), Password: get("sentinelPassword")}
		co.ForceSingleClient = false
	}
	dur := func(names ...string) (time.Duration, bool, error) {
		for _, n := range names {
			v := get(n)
			if v == "" {
				continue
			}
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				return time.Duration(ms) * time.Millisecond, true, nil
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return 0, false, fmt.Errorf("%s: %s %q: want a duration like 5s", what, n, v)
			}
			return d, true, nil
		}
		return 0, false, nil
	}
	if d, ok, err := dur("dialTimeout"); err != nil {
		return o, err
	} else if ok && d > 0 {
		co.Dialer.Timeout = d
	}
	if co.Dialer.Timeout == 0 {
		co.Dialer.Timeout = 5 * time.Second // Dapr's default
	}
	if d, ok, err := dur("writeTimeout"); err != nil {
		return o, err
	} else if ok && d > 0 {
		co.ConnWriteTimeout = d
	}
	if v := get("poolSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return o, fmt.Errorf("%s: poolSize %q: want a number", what, v)
		}
		co.BlockingPoolSize = n
	}
	retries := 3 // Dapr's default maxRetries
	for _, n := range []string{"redisMaxRetries", "maxRetries"} {
		if v := get(n); v != "" {
			r, err := strconv.Atoi(v)
			if err != nil {
				return o, fmt.Errorf("%s: %s %q: want a number", what, n, v)
			}
			retries = r
			break
		}
	}
	minB, _, err := dur("redisMinRetryInterval")
	if err != nil {
		return o, err
	}
	if minB == 0 {
		minB = 8 * time.Millisecond
	}
	maxB, _, err := dur("redisMaxRetryInterval", "maxRetryBackoff")
	if err != nil {
		return o, err
	}
	if maxB == 0 {
		maxB = 512 * time.Millisecond
	}
	if retries <= 0 {
		co.DisableRetry = true
	} else {
		co.RetryDelay = func(attempts int, _ rueidis.Completed, _ error) time.Duration {
			if attempts > retries {
				return -1
			}
			if minB < 0 {
				return 0
			}
			d := minB << min(attempts, 16)
			return min(d, max(maxB, minB))
		}
	}
	o.Client = co
	return o, nil
}

// Conn is a lazily connected client.
type Conn struct {
	opt   Options
	what  string
	log   *slog.Logger
	check func(context.Context, rueidis.Client) error
	dial  chan struct{} // one dialer at a time

	mu      sync.Mutex
	c       rueidis.Client
	lastErr error
	nextTry time.Time
	backoff time.Duration
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// ErrNotConnected is wrapped by Client's error while Redis is unreachable.
var ErrNotConnected = errors.New("not connected")

const (
	firstBackoff = 200 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// New returns a Conn and starts connecting in the background. check, when
// set, validates a new connection (e.g. no replicas for locks); a failed
// check counts as a failed attempt.
func New(opt Options, what string, log *slog.Logger, check func(context.Context, rueidis.Client) error) *Conn {
	if log == nil {
		log = slog.Default()
	}
	c := &Conn{opt: opt, what: what, log: log, check: check, dial: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.connectLoop()
	return c
}

func (c *Conn) connectLoop() {
	defer c.wg.Done()
	warned := false
	for {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-c.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		_, err := c.Client(ctx)
		cancel()
		if err == nil {
			if warned {
				c.log.Info(c.what+": connected", "redisHost", c.opt.Host)
			}
			return
		}
		if !warned {
			c.log.Warn(c.what+": Redis unreachable, retrying with backoff; requests fail until it connects", "redisHost", c.opt.Host, "error", err)
			warned = true
		}
		c.mu.Lock()
		wait := time.Until(c.nextTry)
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		select {
		case <-c.stop:
			return
		case <-time.After(max(wait, 10*time.Millisecond)):
		}
	}
}

// Client returns the connected client, connecting first when the backoff
// allows; otherwise the last connection error.
func (c *Conn) Client(ctx context.Context) (rueidis.Client, error) {
	for {
		c.mu.Lock()
		if c.c != nil {
			cl := c.c
			c.mu.Unlock()
			return cl, nil
		}
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("%s: closed", c.what)
		}
		if time.Now().Before(c.nextTry) {
			err := c.lastErr
			c.mu.Unlock()
			return nil, fmt.Errorf("%s: %w to %s (retrying): %v", c.what, ErrNotConnected, c.opt.Host, err)
		}
		c.mu.Unlock()
		select {
		case c.dial <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		again := c.c != nil || time.Now().Before(c.nextTry) // someone else just tried
		c.mu.Unlock()
		if again {
			<-c.dial
			continue
		}
		cl, err := c.connect(ctx)
		c.mu.Lock()
		if err != nil {
			c.lastErr = err
			c.backoff = min(max(c.backoff*2, firstBackoff), maxBackoff)
			c.nextTry = time.Now().Add(c.backoff)
		} else if c.closed {
			cl.Close()
			err = fmt.Errorf("%s: closed", c.what)
		} else {
			c.c, c.backoff, c.lastErr = cl, 0, nil
		}
		c.mu.Unlock()
		<-c.dial
		if err != nil {
			return nil, fmt.Errorf("%s: %w to %s: %v", c.what, ErrNotConnected, c.opt.Host, err)
		}
		return cl, nil
	}
}

func (c *Conn) connect(ctx context.Context) (rueidis.Client, error) {
	cl, err := rueidis.NewClient(c.opt.Client)
	if err != nil {
		return nil, err
	}
	if c.check != nil {
		if err := c.check(ctx, cl); err != nil {
			cl.Close()
			return nil, err
		}
	}
	return cl, nil
}

// Ready reports nil once connected, else why not.
func (c *Conn) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		return nil
	}
	if c.lastErr != nil {
		return fmt.Errorf("%s: %w to %s: %v", c.what, ErrNotConnected, c.opt.Host, c.lastErr)
	}
	return fmt.Errorf("%s: %w to %s yet", c.what, ErrNotConnected, c.opt.Host)
}

// Options returns the parsed options.
func (c *Conn) Options() Options { return c.opt }

// Close stops connecting and closes the client.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	cl := c.c
	c.c = nil
	c.mu.Unlock()
	c.wg.Wait()
	if cl != nil {
		cl.Close()
	}
	return nil
}
