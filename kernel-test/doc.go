// Package kerneltest checks skiff's eBPF loopback shortcut against the live
// kernel: it needs root (or CAP_BPF+CAP_NET_ADMIN) and a cgroup v2 mount.
// The tests are behind the kerneltest build tag so that `go test ./...` does
// not run them twice: `make kernel` (part of `make test`) runs
//
//	go test -tags kerneltest -count=1 ./kernel-test/
//
// Without root they skip with the reason; with CI=true a skip is a failure.
// The tests run one after another (no t.Parallel): each attaches its own
// shortcut to the cgroup root and counts what it did.
package kerneltest
