//go:build race

package appchannel

const raceEnabled = true
