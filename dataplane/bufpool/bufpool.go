// Package bufpool hands out byte buffers in power-of-two size classes.
//
// Ownership: a buffer from Get belongs to the caller until it passes it to
// Put; after Put neither the slice nor any view of it may be used. Buffers
// larger than the biggest class are left to the garbage collector.
package bufpool

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

const (
	minShift = 9  // 512 B
	maxShift = 22 // 4 MiB
)

var classes [maxShift - minShift + 1]sync.Pool

// allocated counts buffers Get had to allocate (pool misses and oversized
// requests); counted on the allocating path only, for the skiff_ metrics.
var allocated atomic.Uint64

// Allocated reports how many buffers Get has allocated so far.
func Allocated() uint64 { return allocated.Load() }

func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns a buffer of length 0 and capacity at least n.
func Get(n int) *[]byte {
	c := class(n)
	if c >= len(classes) {
		allocated.Add(1)
		b := make([]byte, 0, n)
		return &b
	}
	if v := classes[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:0]
		return b
	}
	allocated.Add(1)
	b := make([]byte, 0, 1<<(c+minShift))
	return &b
}

// Put returns b to its class. Buffers that grew past the largest class, or
// that are smaller than the smallest, are dropped.
func Put(b *[]byte) {
	if b == nil {
		return
	}
	c := cap(*b)
	if c < 1<<minShift || c > 1<<maxShift {
		return
	}
	// A buffer that grew by append sits in the class below its capacity, so
	// every buffer in class k holds at least 1<<(k+minShift) bytes.
	k := bits.Len(uint(c)) - 1 - minShift
	*b = (*b)[:0]
	classes[k].Put(b)
}

// Grow makes room for n more bytes in *b, moving to a pooled buffer of the
// next class when needed, and returns the (possibly new) holder.
func Grow(b *[]byte, n int) *[]byte {
	if cap(*b)-len(*b) >= n {
		return b
	}
	nb := Get(len(*b) + n)
	*nb = append(*nb, *b...)
	Put(b)
	return nb
}
