package lock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Request is the body of the lock and unlock routes (daprd's
// TryLockRequest/UnlockRequest; unlock ignores ExpiryInSeconds).
type Request struct {
	ResourceID      string
	LockOwner       string
	ExpiryInSeconds int32
}

// ParseRequest decodes body the way daprd's protojson does: field names in
// JSON (lowerCamel) or proto (snake_case) form, unknown fields ignored,
// null meaning unset, int32 as a number or a quoted number with no
// fractional part, duplicates refused. An empty body is an empty request.
// The messages differ from protojson's in wording (they start with
// "proto:" too); the code and status are daprd's.
func ParseRequest(body []byte) (*Request, error) {
	req := &Request{}
	if len(bytes.TrimSpace(body)) == 0 {
		if len(body) == 0 {
			return req, nil
		}
		return nil, errors.New("proto: syntax error: unexpected end of JSON input")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("proto: syntax error: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("proto: syntax error: unexpected token %v", tokString(tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("proto: syntax error: %w", err)
		}
		name, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("proto: syntax error: %w", err)
		}
		field := ""
		switch name {
		case "resourceId", "resource_id":
			field = "resource_id"
		case "lockOwner", "lock_owner":
			field = "lock_owner"
		case "expiryInSeconds", "expiry_in_seconds":
			field = "expiry_in_seconds"
		default:
			continue // protojson DiscardUnknown
		}
		if seen[field] {
			return nil, fmt.Errorf("proto: duplicate field %q", name)
		}
		seen[field] = true
		if string(raw) == "null" {
			continue
		}
		switch field {
		case "resource_id":
			if err := json.Unmarshal(raw, &req.ResourceID); err != nil {
				return nil, fmt.Errorf("proto: invalid value for string field %s: %s", name, raw)
			}
		case "lock_owner":
			if err := json.Unmarshal(raw, &req.LockOwner); err != nil {
				return nil, fmt.Errorf("proto: invalid value for string field %s: %s", name, raw)
			}
		case "expiry_in_seconds":
			v, ok := parseInt32(raw)
			if !ok {
				return nil, fmt.Errorf("proto: invalid value for int32 field %s: %s", name, raw)
			}
			req.ExpiryInSeconds = v
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("proto: syntax error: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("proto: syntax error: unexpected token after the object")
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("proto: syntax error: %w", err)
	}
	return req, nil
}

func tokString(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return string(v)
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	default:
		return fmt.Sprint(v)
	}
}

// parseInt32 accepts a JSON number or a JSON string holding one, with an
// integral value in int32's range (protojson also takes 1e1 or 10.0).
func parseInt32(raw []byte) (int32, bool) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		var inner string
		if json.Unmarshal(raw, &inner) != nil {
			return 0, false
		}
		s = inner
		if !validJSONNumber(s) {
			return 0, false
		}
	} else if !validJSONNumber(s) {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int32(n), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return 0, false
	}
	return int32(f), true
}

func validJSONNumber(s string) bool {
	return s != "" && json.Valid([]byte(s)) && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}
