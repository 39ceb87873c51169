//go:build !race

package http1

// raceEnabled skips allocation tests: the race detector allocates.
const raceEnabled = false
