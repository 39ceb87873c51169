package bufpool

import "testing"

func TestGetCapacity(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 4097, 1 << 22, 1<<22 + 1} {
		b := Get(n)
		if len(*b) != 0 || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		Put(b)
	}
}

func TestPutKeepsClassInvariant(t *testing.T) {
	b := Get(600) // class 1024
	*b = append(*b, make([]byte, 3000)...)
	Put(b) // cap now ≥ 3000, lands in class 2048
	for i := 0; i < 10; i++ {
		g := Get(2048)
		if cap(*g) < 2048 {
			t.Fatalf("class 2048 gave cap %d", cap(*g))
		}
	}
}

func TestGrow(t *testing.T) {
	b := Get(10)
	*b = append(*b, "hello"...)
	b = Grow(b, 10000)
	if string(*b) != "hello" || cap(*b)-len(*b) < 10000 {
		t.Fatalf("grow: %q cap %d", *b, cap(*b))
	}
	Put(b)
}
