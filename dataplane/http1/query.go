package http1

import "bytes"

// unhex returns the value of a hex digit and whether c is one.
func unhex(c byte) (byte, bool) {
	switch {
	case c-'0' < 10:
		return c - '0', true
	case c|0x20-'a' < 6:
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// AppendUnescape appends src to dst with %XX escapes decoded (and '+' turned
// into a space when plusIsSpace, as in query strings). On a malformed escape
// it returns dst unchanged and false.
func AppendUnescape(dst, src []byte, plusIsSpace bool) ([]byte, bool) {
	i := bytes.IndexByte(src, '%')
	if plusIsSpace {
		if p := bytes.IndexByte(src, '+'); p >= 0 && (i < 0 || p < i) {
			i = p
		}
	}
	if i < 0 {
		return append(dst, src...), true
	}
	orig := len(dst)
	dst = append(dst, src[:i]...)
	for ; i < len(src); i++ {
		switch c := src[i]; c {
		case '%':
			if i+2 >= len(src) {
				return dst[:orig], false
			}
			hi, ok1 := unhex(src[i+1])
			lo, ok2 := unhex(src[i+2])
			if !ok1 || !ok2 {
				return dst[:orig], false
			}
			dst = append(dst, hi<<4|lo)
			i += 2
		case '+':
			if plusIsSpace {
				c = ' '
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

// ForEachQuery calls fn for each '&'-separated pair of the raw query q, split
// at the first '=' (a pair without '=' has an empty value). Keys and values
// are passed still encoded; empty pairs are skipped. fn returning false stops.
func ForEachQuery(q []byte, fn func(key, value []byte) bool) {
	for len(q) > 0 {
		var pair []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, nil
		}
		if len(pair) == 0 {
			continue
		}
		k, v := pair, pair[len(pair):]
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		if !fn(k, v) {
			return
		}
	}
}

// QueryGet returns the raw value of the first pair whose raw key equals key,
// nil if there is none (a present key with no value gives an empty, non-nil
// slice). Keys are compared as sent, without decoding.
func QueryGet(q []byte, key string) []byte {
	for len(q) > 0 {
		var pair []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, nil
		}
		if len(pair) < len(key) || string(pair[:len(key)]) != key {
			continue
		}
		if len(pair) == len(key) {
			return pair[len(pair):len(pair):len(pair)]
		}
		if pair[len(key)] == '=' {
			v := pair[len(key)+1:]
			return v[:len(v):len(v)]
		}
	}
	return nil
}
