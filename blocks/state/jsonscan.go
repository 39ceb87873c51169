package state

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/jsonscan"
)

// A small JSON reader for the request bodies of this block. Pass one
// (jsonscan.Validate) checks the syntax of the first value the way
// encoding/json's Decoder does (same error texts, trailing bytes ignored);
// pass two, here, walks the now-valid text and extracts fields without
// building Go values, so nested values stay raw JSON and numbers stay exactly
// as sent.

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
	i = jsonscan.SkipWS(b, i+1)
	if b[i] == '}' {
		return nil
	}
	for {
		ke := jsonscan.End(b, i)
		key := b[i:ke]
		vs := jsonscan.SkipWS(b, jsonscan.SkipWS(b, ke)+1)
		ve := jsonscan.End(b, vs)
		if err := fn(key, vs, ve); err != nil {
			return err
		}
		i = jsonscan.SkipWS(b, ve)
		if b[i] == '}' {
			return nil
		}
		i = jsonscan.SkipWS(b, i+1)
	}
}

// eachElement calls fn for every element of the valid array at b[i].
func eachElement(b []byte, i int, fn func(vs, ve int) error) error {
	i = jsonscan.SkipWS(b, i+1)
	if b[i] == ']' {
		return nil
	}
	for {
		ve := jsonscan.End(b, i)
		if err := fn(i, ve); err != nil {
			return err
		}
		i = jsonscan.SkipWS(b, ve)
		if b[i] == ']' {
			return nil
		}
		i = jsonscan.SkipWS(b, i+1)
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
