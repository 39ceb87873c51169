package loadgen

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pacer sleeps until absolute times with a timerfd read through Go's poller.
//
// Why not time.Sleep: when every goroutine is parked, the runtime waits in
// epoll with a millisecond timeout, so a sleep shorter than a millisecond
// oversleeps by up to a millisecond. In an open loop that lateness would be
// charged to the server (latency counts from the intended send). A timerfd
// is an hrtimer with no slack and wakes the poller on time.
type pacer struct {
	f    *os.File
	fd   int
	base int64 // CLOCK_MONOTONIC ns at the run's base time
	buf  [8]byte
}

// monoNow reads CLOCK_MONOTONIC, the clock Go's monotonic time uses.
func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func newPacer(base int64) (*pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("pacer: %w", err)
	}
	// A non-blocking fd given to os.NewFile is registered with the poller.
	return &pacer{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd, base: base}, nil
}

// sleepUntil blocks until at (ns since base) has passed.
func (p *pacer) sleepUntil(at int64) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(p.base + at)}
	if err := unix.TimerfdSettime(p.fd, unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		return fmt.Errorf("pacer: %w", err)
	}
	if _, err := p.f.Read(p.buf[:]); err != nil {
		return fmt.Errorf("pacer: %w", err)
	}
	return nil
}

func (p *pacer) close() { p.f.Close() }

// sleepFallback is used when no timerfd could be made.
func sleepFallback(d time.Duration) { time.Sleep(d) }
