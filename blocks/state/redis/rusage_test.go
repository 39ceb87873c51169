package redis

import (
	"syscall"
	"time"
)

type syscallRusage = time.Duration

// getrusage stores this process's user+system CPU time in d.
func getrusage(d *time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	*d = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
