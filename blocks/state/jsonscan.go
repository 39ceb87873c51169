package state

import (
	"github.com/skiffd/skiff/dataplane/http1"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader for the request bodies of this block. Pass one
// (validate) checks the syntax of the first value the way encoding/json's
// Decoder does (same error texts, trailing bytes ignored); pass two walks the
// now-valid text and extracts fields without building Go values, so nested
// values stay raw JSON and numbers stay exactly as sent.

const maxDepth = 10000 // encoding/json's nesting limit

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

var errEOF = &syntaxError{"EOF"}
var errUnexpectedEOF = &syntaxError{"unexpected EOF"}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func badChar(c byte, context string) *syntaxError {
	return &syntaxError{"invalid character " + quoteChar(c) + " " + context}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// validate checks the first JSON value in b and returns its start and end.
func validate(b []byte) (start, end int, err error) {
	start = skipWS(b, 0)
	if start == len(b) {
		return 0, 0, errEOF
	}
	end, serr := scanValue(b, start, 0)
	if serr != nil {
		return 0, 0, serr
	}
	return start, end, nil
}

func scanValue(b []byte, i, depth int) (int, *syntaxError) {
	if i >= len(b) {
		return 0, errUnexpectedEOF
	}
	switch c := b[i]; {
	case c == '{':
		return scanObject(b, i, depth+1)
	case c == '[':
		return scanArray(b, i, depth+1)
	case c == '"':
		return scanString(b, i)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	default:
		return 0, badChar(c, "looking for beginning of value")
	}
}

func scanObject(b []byte, i, depth int) (int, *syntaxError) {
	if depth > maxDepth {
		return 0, &syntaxError{"exceeded max depth"}
	}
	i = skipWS(b, i+1)
	if i >= len(b) {
		return 0, errUnexpectedEOF
	}
	if b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		if b[i] != '"' {
			return 0, badChar(b[i], "looking for beginning of object key string")
		}
		var err *syntaxError
		if i, err = scanString(b, i); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		if b[i] != ':' {
			return 0, badChar(b[i], "after object key")
		}
		i = skipWS(b, i+1)
		if i, err = scanValue(b, i, depth); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, badChar(b[i], "after object key:value pair")
		}
	}
}

func scanArray(b []byte, i, depth int) (int, *syntaxError) {
	if depth > maxDepth {
		return 0, &syntaxError{"exceeded max depth"}
	}
	i = skipWS(b, i+1)
	if i >= len(b) {
		return 0, errUnexpectedEOF
	}
	if b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err *syntaxError
		if i, err = scanValue(b, i, depth); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, badChar(b[i], "after array element")
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func scanString(b []byte, i int) (int, *syntaxError) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			i++
			if i >= len(b) {
				return 0, errUnexpectedEOF
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for k := 0; k < 4; k++ {
					if i >= len(b) {
						return 0, errUnexpectedEOF
					}
					if !isHex(b[i]) {
						return 0, badChar(b[i], "in \\u hexadecimal character escape")
					}
					i++
				}
			default:
				return 0, badChar(b[i], "in string escape code")
			}
		case c < 0x20:
			return 0, badChar(c, "in string literal")
		default:
			i++
		}
	}
	return 0, errUnexpectedEOF
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func scanNumber(b []byte, i int) (int, *syntaxError) {
	if b[i] == '-' {
		i++
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		if !isDigit(b[i]) {
			return 0, badChar(b[i], "in numeric literal")
		}
	}
	if b[i] == '0' {
		i++
	} else {
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		if !isDigit(b[i]) {
			return 0, badChar(b[i], "after decimal point in numeric literal")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		if !isDigit(b[i]) {
			return 0, badChar(b[i], "in exponent of numeric literal")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	// A number at the very end of the input is incomplete for a streaming
	// decoder ("1" could be "12"); encoding/json's Decoder then reports EOF
	// as unexpected only when nothing follows, which for a top-level number
	// means the value ends at EOF and is accepted.
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, *syntaxError) {
	for k := 1; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, errUnexpectedEOF
		}
		if b[i+k] != lit[k] {
			return 0, badChar(b[i+k], "in literal "+lit+" (expecting "+quoteChar(lit[k])+")")
		}
	}
	return i + len(lit), nil
}

// --- pass two: walking text already known to be valid ---

// valueEnd returns the end of the valid value starting at b[i].
func valueEnd(b []byte, i int) int {
	end, _ := scanValue(b, i, 0)
	return end
}

// kindOf names a value's JSON kind the way encoding/json's type errors do.
func kindOf(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// eachMember calls fn for every member of the valid object at b[i]; key is
// the raw key literal including quotes; the value is b[vs:ve].
func eachMember(b []byte, i int, fn func(key []byte, vs, ve int) error) error {
	i = skipWS(b, i+1)
	if b[i] == '}' {
		return nil
	}
	for {
		ke := valueEnd(b, i)
		key := b[i:ke]
		vs := skipWS(b, skipWS(b, ke)+1)
		ve := valueEnd(b, vs)
		if err := fn(key, vs, ve); err != nil {
			return err
		}
		i = skipWS(b, ve)
		if b[i] == '}' {
			return nil
		}
		i = skipWS(b, i+1)
	}
}

// eachElement calls fn for every element of the valid array at b[i].
func eachElement(b []byte, i int, fn func(vs, ve int) error) error {
	i = skipWS(b, i+1)
	if b[i] == ']' {
		return nil
	}
	for {
		ve := valueEnd(b, i)
		if err := fn(i, ve); err != nil {
			return err
		}
		i = skipWS(b, ve)
		if b[i] == ']' {
			return nil
		}
		i = skipWS(b, i+1)
	}
}

// keyIs matches a raw key literal against a field name, case-insensitively
// as encoding/json does (exact ASCII names only; keys with escapes are
// decoded first).
func keyIs(raw []byte, name string) bool {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			return http1.EqualFold(appendUnquote(nil, raw), name)
		}
	}
	return http1.EqualFold(inner, name)
}

// appendUnquote decodes the valid string literal lit (quotes included) and
// appends it to dst. Invalid UTF-8 and lone surrogates become U+FFFD, as in
// encoding/json.
func appendUnquote(dst, lit []byte) []byte {
	s := lit[1 : len(lit)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' {
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(s[i+2:i+6])); dec != utf8.RuneError {
							i += 6
							dst = utf8.AppendRune(dst, dec)
							continue
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[i+1])
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// appendCompact appends the valid JSON text v without insignificant
// whitespace (daprd re-encodes values, which also drops it).
func appendCompact(dst, v []byte) []byte {
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' {
			i++
			for v[i] != '"' {
				if v[i] == '\\' {
					i++
				}
				i++
			}
			continue
		}
		if isSpace(c) {
			dst = append(dst, v[start:i]...)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// hasSpaceOutsideStrings reports whether appendCompact would change v.
func hasSpaceOutsideStrings(v []byte) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' {
			i++
			for v[i] != '"' {
				if v[i] == '\\' {
					i++
				}
				i++
			}
			continue
		}
		if isSpace(c) {
			return true
		}
	}
	return false
}
