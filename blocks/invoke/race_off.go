//go:build !race

package invoke

// raceEnabled lets allocation tests skip under -race, which allocates.
const raceEnabled = false
