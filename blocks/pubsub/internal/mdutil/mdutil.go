package mdutil

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MD is component metadata with typed, case-insensitive getters. what names
// the component in errors ("pubsub.redis").
type MD struct {
	M    map[string]string
	What string
}

// Get returns the value of name (exact match first, then case-insensitive).
func (m MD) Get(name string) string {
	if v, ok := m.M[name]; ok {
		return v
	}
	for k, v := range m.M {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Duration reads a Go duration ("5s") or an integer in milliseconds; def when
// unset.
func (m MD) Duration(name string, def time.Duration) (time.Duration, error) {
	v := m.Get(name)
	if v == "" {
		return def, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %s %q: want a duration like 5s or milliseconds", m.What, name, v)
	}
	return d, nil
}

// Int reads a non-negative integer; def when unset.
func (m MD) Int(name string, def int64) (int64, error) {
	v := m.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %s %q: want a non-negative integer", m.What, name, v)
	}
	return n, nil
}

// Bool reads true/false; def when unset.
func (m MD) Bool(name string, def bool) (bool, error) {
	v := m.Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %s %q: want true or false", m.What, name, v)
	}
	return b, nil
}

// Seconds reads a duration the way Dapr's metadata decoder does for
// duration fields: a Go duration ("5s") or an integer number of seconds;
// def when unset.
func (m MD) Seconds(name string, def time.Duration) (time.Duration, error) {
	v := m.Get(name)
	if v == "" {
		return def, nil
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %s %q: want a duration like 5s or seconds", m.What, name, v)
	}
	return d, nil
}
