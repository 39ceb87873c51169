package jsonscan

import "strconv"

const maxDepth = 10000 // encoding/json's nesting limit

// SyntaxError is a syntax error with encoding/json's message text.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

var errEOF = &SyntaxError{"EOF"}
var errUnexpectedEOF = &SyntaxError{"unexpected EOF"}

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

func badChar(c byte, context string) *SyntaxError {
	return &SyntaxError{"invalid character " + quoteChar(c) + " " + context}
}

// IsSpace reports whether c is JSON whitespace.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipWS returns the index of the first non-whitespace byte at or after i.
func SkipWS(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// Validate checks the first JSON value in b, as encoding/json's Decoder
// reads it (trailing bytes ignored), and returns its start and end.
func Validate(b []byte) (start, end int, err error) {
	start = SkipWS(b, 0)
	if start == len(b) {
		return 0, 0, errEOF
	}
	end, serr := scanValue(b, start, 0)
	if serr != nil {
		return 0, 0, serr
	}
	return start, end, nil
}

func scanValue(b []byte, i, depth int) (int, *SyntaxError) {
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

func scanObject(b []byte, i, depth int) (int, *SyntaxError) {
	if depth > maxDepth {
		return 0, &SyntaxError{"exceeded max depth"}
	}
	i = SkipWS(b, i+1)
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
		var err *SyntaxError
		if i, err = scanString(b, i); err != nil {
			return 0, err
		}
		i = SkipWS(b, i)
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		if b[i] != ':' {
			return 0, badChar(b[i], "after object key")
		}
		i = SkipWS(b, i+1)
		if i, err = scanValue(b, i, depth); err != nil {
			return 0, err
		}
		i = SkipWS(b, i)
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, badChar(b[i], "after object key:value pair")
		}
	}
}

func scanArray(b []byte, i, depth int) (int, *SyntaxError) {
	if depth > maxDepth {
		return 0, &SyntaxError{"exceeded max depth"}
	}
	i = SkipWS(b, i+1)
	if i >= len(b) {
		return 0, errUnexpectedEOF
	}
	if b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err *SyntaxError
		if i, err = scanValue(b, i, depth); err != nil {
			return 0, err
		}
		i = SkipWS(b, i)
		if i >= len(b) {
			return 0, errUnexpectedEOF
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
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

func scanString(b []byte, i int) (int, *SyntaxError) {
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

func scanNumber(b []byte, i int) (int, *SyntaxError) {
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

func scanLiteral(b []byte, i int, lit string) (int, *SyntaxError) {
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

// Valid reports whether b is exactly one JSON value, with whitespace around
// it only: encoding/json.Valid's answer, without its per-byte state machine.
func Valid(b []byte) bool {
	_, end, err := Validate(b)
	return err == nil && SkipWS(b, end) == len(b)
}

// End returns the end of the valid value starting at b[i].
func End(b []byte, i int) int {
	end, _ := scanValue(b, i, 0)
	return end
}

// AppendCompact appends the valid JSON text v without insignificant
// whitespace (daprd re-encodes values, which also drops it). Text that is
// not valid JSON comes out in some form, without a panic.
func AppendCompact(dst, v []byte) []byte {
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' {
			i++
			for i < len(v) && v[i] != '"' {
				if v[i] == '\\' {
					i++
				}
				i++
			}
			continue
		}
		if IsSpace(c) {
			dst = append(dst, v[start:i]...)
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// HasSpaceOutsideStrings reports whether AppendCompact would change v.
func HasSpaceOutsideStrings(v []byte) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' {
			i++
			for i < len(v) && v[i] != '"' {
				if v[i] == '\\' {
					i++
				}
				i++
			}
			continue
		}
		if IsSpace(c) {
			return true
		}
	}
	return false
}
