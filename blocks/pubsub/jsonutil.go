package pubsub

import (
	"encoding/base64"
	"encoding/json"
	"sort"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/jsonscan"
)

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
		dst = jsonscan.AppendCompact(dst, m[k])
	}
	return append(dst, '}')
}

func appendBase64(dst, src []byte) []byte { return base64.StdEncoding.AppendEncode(dst, src) }
