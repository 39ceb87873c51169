package state

import (
	"maps"
	"strconv"
	"strings"

	"github.com/skiffd/skiff/dataplane/jsonscan"
)

// Decoders for the HTTP request bodies. Each returns the error text daprd's
// encoding/json decoding would produce for the same input (syntax errors from
// validate, then the first type error in document order).

type typeError struct{ value, typ, strct, field string }

func (e *typeError) Error() string {
	if e.strct != "" {
		return "json: cannot unmarshal " + e.value + " into Go struct field " + e.strct + "." + e.field + " of type " + e.typ
	}
	return "json: cannot unmarshal " + e.value + " into Go value of type " + e.typ
}

func typeErr(b []byte, vs int, typ, strct, field string) error {
	return &typeError{value: kindOf(b[vs]), typ: typ, strct: strct, field: field}
}

// intern avoids allocating for the option values everyone sends.
func intern(b []byte) string {
	switch string(b) {
	case FirstWrite:
		return FirstWrite
	case LastWrite:
		return LastWrite
	case Strong:
		return Strong
	case Eventual:
		return Eventual
	case "":
		return ""
	}
	return string(b)
}

// strValue decodes a string-typed field; null leaves it empty.
func strValue(b []byte, vs, ve int, strct, field string) (string, error) {
	switch b[vs] {
	case '"':
		lit := b[vs:ve]
		if !hasEscape(lit) {
			return intern(lit[1 : len(lit)-1]), nil
		}
		return string(appendUnquote(nil, lit)), nil
	case 'n':
		return "", nil
	}
	return "", typeErr(b, vs, "string", strct, field)
}

func hasEscape(lit []byte) bool {
	for _, c := range lit[1 : len(lit)-1] {
		if c == '\\' || c >= 0x80 {
			return true // non-ASCII goes through UTF-8 validation
		}
	}
	return false
}

// strMap decodes a map[string]string field.
func strMap(b []byte, vs, ve int, strct, field string) (map[string]string, error) {
	switch b[vs] {
	case 'n':
		return nil, nil
	case '{':
	default:
		return nil, typeErr(b, vs, "map[string]string", strct, field)
	}
	m := map[string]string{}
	err := eachMember(b, vs, func(key []byte, s, e int) error {
		v, err := strValue(b, s, e, strct, field)
		if err != nil {
			return err
		}
		m[string(appendUnquote(nil, key))] = v
		return nil
	})
	return m, err
}

// rawValue returns a stored value: the JSON text without insignificant
// whitespace; a view of b when nothing needs removing.
func rawValue(b []byte, vs, ve int) []byte {
	v := b[vs:ve]
	if jsonscan.HasSpaceOutsideStrings(v) {
		return jsonscan.AppendCompact(make([]byte, 0, len(v)), v)
	}
	return v
}

var nullValue = []byte("null")

// parseSave decodes POST /v1.0/state/{store}: a JSON array of state.SetRequest.
// reqs is reused.
func parseSave(body []byte, reqs []SetRequest) ([]SetRequest, error) {
	reqs = reqs[:0]
	vs, ve, err := jsonscan.Validate(body)
	if err != nil {
		return reqs, err
	}
	switch body[vs] {
	case 'n':
		return reqs, nil
	case '[':
	default:
		return reqs, typeErr(body, vs, "[]state.SetRequest", "", "")
	}
	_ = ve
	err = eachElement(body, vs, func(s, e int) error {
		var r SetRequest
		switch body[s] {
		case 'n':
		case '{':
			if err := decodeSetObject(body, s, &r); err != nil {
				return err
			}
		default:
			return typeErr(body, s, "state.SetRequest", "", "")
		}
		if r.Value == nil {
			r.Value = nullValue // json.Marshal(nil)
		}
		reqs = append(reqs, r)
		return nil
	})
	return reqs, err
}

func decodeSetObject(b []byte, s int, r *SetRequest) error {
	return eachMember(b, s, func(key []byte, vs, ve int) error {
		var err error
		switch {
		case keyIs(key, "key"):
			r.Key, err = strValue(b, vs, ve, "SetRequest", "key")
		case keyIs(key, "value"):
			if b[vs] == 'n' {
				r.Value = nil
			} else {
				r.Value = rawValue(b, vs, ve)
			}
		case keyIs(key, "etag"):
			r.ETag, err = strValue(b, vs, ve, "SetRequest", "etag")
		case keyIs(key, "metadata"):
			var m map[string]string
			if m, err = strMap(b, vs, ve, "SetRequest", "metadata"); err == nil && m != nil {
				if r.Metadata == nil {
					r.Metadata = m
				} else {
					for k, v := range m {
						r.Metadata[k] = v
					}
				}
			}
		case keyIs(key, "options"):
			err = decodeOptions(b, vs, &r.Options, "SetRequest", "state.SetStateOption")
		case keyIs(key, "contentType"):
			_, err = strValue(b, vs, ve, "SetRequest", "contentType")
		}
		return err
	})
}

func decodeOptions(b []byte, vs int, o *Options, strct, typ string) error {
	switch b[vs] {
	case 'n':
		return nil
	case '{':
	default:
		return typeErr(b, vs, typ, strct, "options")
	}
	return eachMember(b, vs, func(key []byte, s, e int) error {
		var err error
		switch {
		case keyIs(key, "concurrency"):
			o.Concurrency, err = strValue(b, s, e, strct, "options.Concurrency")
		case keyIs(key, "consistency"):
			o.Consistency, err = strValue(b, s, e, strct, "options.Consistency")
		}
		return err
	})
}

// parseBulk decodes daprd's BulkGetRequest {keys, parallelism, metadata}.
func parseBulk(body []byte) (keys []string, parallelism int, md map[string]string, err error) {
	vs, _, err := jsonscan.Validate(body)
	if err != nil {
		return nil, 0, nil, err
	}
	switch body[vs] {
	case 'n':
		return nil, 0, nil, nil
	case '{':
	default:
		return nil, 0, nil, typeErr(body, vs, "http.BulkGetRequest", "", "")
	}
	err = eachMember(body, vs, func(key []byte, s, e int) error {
		switch {
		case keyIs(key, "keys"):
			switch body[s] {
			case 'n':
				keys = nil
				return nil
			case '[':
			default:
				return typeErr(body, s, "[]string", "BulkGetRequest", "keys")
			}
			keys = keys[:0]
			return eachElement(body, s, func(es, ee int) error {
				k, err := strValue(body, es, ee, "BulkGetRequest", "keys")
				keys = append(keys, k)
				return err
			})
		case keyIs(key, "parallelism"):
			switch body[s] {
			case 'n':
				return nil
			case '"', '{', '[', 't', 'f':
				return typeErr(body, s, "int", "BulkGetRequest", "parallelism")
			}
			n, perr := strconv.ParseInt(string(body[s:e]), 10, 64)
			if perr != nil {
				return &typeError{value: "number " + string(body[s:e]), typ: "int", strct: "BulkGetRequest", field: "parallelism"}
			}
			parallelism = int(n)
		case keyIs(key, "metadata"):
			m, err := strMap(body, s, e, "BulkGetRequest", "metadata")
			if err != nil {
				return err
			}
			md = mergeMeta(md, m)
		}
		return nil
	})
	return keys, parallelism, md, err
}

// txOp is one decoded transaction operation before its request is mapped.
type txOp struct {
	operation string
	req       []byte // raw JSON of "request"; nil when absent
}

// parseTransaction decodes {operations:[{operation, request}], metadata}.
func parseTransaction(body []byte) (ops []txOp, md map[string]string, err error) {
	vs, _, err := jsonscan.Validate(body)
	if err != nil {
		return nil, nil, err
	}
	const top = "stateTransactionRequestBody"
	switch body[vs] {
	case 'n':
		return nil, nil, nil
	case '{':
	default:
		return nil, nil, typeErr(body, vs, "http."+top, "", "")
	}
	err = eachMember(body, vs, func(key []byte, s, e int) error {
		switch {
		case keyIs(key, "operations"):
			switch body[s] {
			case 'n':
				ops = nil
				return nil
			case '[':
			default:
				return typeErr(body, s, "[]http.stateTransactionRequestBodyOperation", top, "operations")
			}
			ops = ops[:0]
			return eachElement(body, s, func(es, ee int) error {
				var op txOp
				switch body[es] {
				case 'n':
				case '{':
					err := eachMember(body, es, func(k []byte, ms, me int) error {
						var err error
						switch {
						case keyIs(k, "operation"):
							op.operation, err = strValue(body, ms, me, "stateTransactionRequestBodyOperation", "operations.operation")
						case keyIs(k, "request"):
							if body[ms] == 'n' {
								op.req = nil
							} else {
								op.req = body[ms:me]
							}
						}
						return err
					})
					if err != nil {
						return err
					}
				default:
					return typeErr(body, es, "http.stateTransactionRequestBodyOperation", top, "operations")
				}
				ops = append(ops, op)
				return nil
			})
		case keyIs(key, "metadata"):
			m, err := strMap(body, s, e, top, "metadata")
			if err != nil {
				return err
			}
			md = mergeMeta(md, m)
		}
		return nil
	})
	return ops, md, err
}

// mapErrors collects mapstructure-style errors (daprd decodes each
// transaction request with mapstructure.Decode).
type mapErrors []string

func (m mapErrors) err() error {
	if len(m) == 0 {
		return nil
	}
	s := strconv.Itoa(len(m)) + " error(s) decoding:\n\n* " + strings.Join(m, "\n* ")
	return &jsonscan.SyntaxError{Msg: s}
}

// goKind names a JSON value's Go type after encoding/json decoded it into any.
func goKind(c byte) string {
	switch c {
	case '{':
		return "map[string]interface {}"
	case '[':
		return "[]interface {}"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	default:
		return "float64"
	}
}

// goValue renders a decoded value as fmt's %v would, for the common scalars.
func goValue(b []byte) string {
	switch b[0] {
	case '"':
		return string(appendUnquote(nil, b))
	case 't', 'f', '{', '[':
		return string(b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return string(b)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func mapStr(b []byte, s, e int, name string, errs *mapErrors) string {
	switch b[s] {
	case '"':
		return string(appendUnquote(nil, b[s:e]))
	case 'n':
		return ""
	}
	*errs = append(*errs, "'"+name+"' expected type 'string', got unconvertible type '"+goKind(b[s])+"', value: '"+goValue(b[s:e])+"'")
	return ""
}

func mapMetadata(b []byte, s, e int, name string, errs *mapErrors) map[string]string {
	switch b[s] {
	case 'n':
		return nil
	case '{':
	default:
		*errs = append(*errs, "'"+name+"' expected a map, got '"+kindName(b[s])+"'")
		return nil
	}
	m := map[string]string{}
	_ = eachMember(b, s, func(key []byte, vs, ve int) error {
		k := string(appendUnquote(nil, key))
		m[k] = mapStr(b, vs, ve, name+"["+k+"]", errs)
		return nil
	})
	return m
}

func kindName(c byte) string {
	switch c {
	case '[':
		return "slice"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	default:
		return "float64"
	}
}

func mapOptions(b []byte, s int, o *Options, errs *mapErrors) {
	switch b[s] {
	case 'n':
		return
	case '{':
	default:
		*errs = append(*errs, "'Options' expected a map, got '"+kindName(b[s])+"'")
		return
	}
	_ = eachMember(b, s, func(key []byte, vs, ve int) error {
		switch {
		case keyIs(key, "concurrency"):
			o.Concurrency = mapStr(b, vs, ve, "Options.Concurrency", errs)
		case keyIs(key, "consistency"):
			o.Consistency = mapStr(b, vs, ve, "Options.Consistency", errs)
		}
		return nil
	})
}

// decodeTxSet maps a transaction "request" onto a SetRequest as daprd's
// mapstructure.Decode does (field names case-insensitive, no weak typing).
func decodeTxSet(op txOp) (*SetRequest, error) {
	r := &SetRequest{Value: nullValue}
	if op.req == nil {
		return r, nil
	}
	b := op.req
	var errs mapErrors
	if b[0] != '{' {
		errs = append(errs, "'' expected a map, got '"+kindName(b[0])+"'")
		return nil, errs.err()
	}
	_ = eachMember(b, 0, func(key []byte, s, e int) error {
		switch {
		case keyIs(key, "key"):
			r.Key = mapStr(b, s, e, "Key", &errs)
		case keyIs(key, "value"):
			if b[s] == 'n' {
				r.Value = nullValue
			} else {
				r.Value = rawValue(b, s, e)
			}
		case keyIs(key, "etag"):
			r.ETag = mapStr(b, s, e, "ETag", &errs)
		case keyIs(key, "metadata"):
			r.Metadata = mapMetadata(b, s, e, "Metadata", &errs)
		case keyIs(key, "options"):
			mapOptions(b, s, &r.Options, &errs)
		case keyIs(key, "contentType"):
			mapStr(b, s, e, "ContentType", &errs)
		}
		return nil
	})
	if err := errs.err(); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeTxDelete maps a transaction "request" onto a DeleteRequest.
func decodeTxDelete(op txOp) (*DeleteRequest, error) {
	r := &DeleteRequest{}
	if op.req == nil {
		return r, nil
	}
	b := op.req
	var errs mapErrors
	if b[0] != '{' {
		errs = append(errs, "'' expected a map, got '"+kindName(b[0])+"'")
		return nil, errs.err()
	}
	_ = eachMember(b, 0, func(key []byte, s, e int) error {
		switch {
		case keyIs(key, "key"):
			r.Key = mapStr(b, s, e, "Key", &errs)
		case keyIs(key, "etag"):
			r.ETag = mapStr(b, s, e, "ETag", &errs)
		case keyIs(key, "metadata"):
			r.Metadata = mapMetadata(b, s, e, "Metadata", &errs)
		case keyIs(key, "options"):
			mapOptions(b, s, &r.Options, &errs)
		}
		return nil
	})
	if err := errs.err(); err != nil {
		return nil, err
	}
	return r, nil
}

// mergeMeta adds m to md (a repeated "metadata" member merges, as
// encoding/json decoding into the same map does) and returns md.
func mergeMeta(md, m map[string]string) map[string]string {
	if md == nil {
		return m
	}
	maps.Copy(md, m)
	return md
}
