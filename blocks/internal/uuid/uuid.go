// Package uuid formats random version 4 UUIDs: CloudEvent ids, ETags,
// subscription ids, file names. One implementation for every block.
//
// Append functions write into the caller's buffer and keep nothing.
package uuid

import (
	crand "crypto/rand"
	"math/rand/v2"
)

const hexDigits = "0123456789abcdef"

// AppendV4 sets the version 4 and variant bits of b and appends it to dst
// in its 36-character form (8-4-4-4-12 lower-case hex digits).
func AppendV4(dst []byte, b [16]byte) []byte {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[x>>4], hexDigits[x&15])
	}
	return dst
}

// New returns a version 4 UUID from crypto/rand, for ids that must not be
// guessable.
func New() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails since Go 1.24
	var s [36]byte
	return string(AppendV4(s[:0], b))
}

// AppendFast appends a version 4 UUID from math/rand/v2's per-thread
// generator: unique ids on hot paths (CloudEvent ids), without allocating.
func AppendFast(dst []byte) []byte {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	return AppendV4(dst, b)
}
