//go:build !race

package appchannel

// raceEnabled lets allocation tests skip under -race, which allocates.
const raceEnabled = false
