package bindings

import "strings"

// Lookup finds a metadata value ignoring the name's case, as Dapr's
// metadata decoder does; an exact match wins.
func Lookup(md map[string]string, name string) (string, bool) {
	if v, ok := md[name]; ok {
		return v, true
	}
	for k, v := range md {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// IsTruthy is dapr/kit's strings.IsTruthy: "1", "t", "true", "y", "yes",
// "on" in any case (surrounding spaces ignored).
func IsTruthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "y", "yes", "on":
		return true
	}
	return false
}
