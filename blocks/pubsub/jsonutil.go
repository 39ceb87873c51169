package pubsub

import (
	"encoding/base64"
	"encoding/json"
	"sort"

	"github.com/skiffd/skiff/dataplane/apierr"
)

// appendCompact appends valid JSON src without insignificant whitespace.
func appendCompact(dst, src []byte) []byte {
	inStr, esc := false, false
	for _, c := range src {
		if inStr {
			dst = append(dst, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		dst = append(dst, c)
	}
	return dst
}

// appendSortedObject writes m as a JSON object with sorted keys, values
// compacted, as encoding/json marshals a map.
func appendSortedObject(dst []byte, m map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = apierr.AppendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendCompact(dst, m[k])
	}
	return append(dst, '}')
}

func appendBase64(dst, src []byte) []byte { return base64.StdEncoding.AppendEncode(dst, src) }
