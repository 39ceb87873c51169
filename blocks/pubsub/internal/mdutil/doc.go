// Package mdutil reads pub/sub component metadata the way Dapr does:
// case-insensitive names, durations as Go durations or milliseconds.
// It owns no buffers: every value returned is a fresh string or number.
package mdutil
