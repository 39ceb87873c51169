package resources

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem in a resource file that stops startup.
type Error struct {
	File string
	Line int // 0 when the problem has no line (e.g. unreadable file)
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("resources: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("resources: %s: %s", e.File, e.Msg)
}

// lineError is a problem found while decoding a node, before the file name
// is known; fileError attaches the file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errorf(line int, format string, args ...any) error {
	return &lineError{line: line, msg: fmt.Sprintf(format, args...)}
}

var (
	// yaml.v3 syntax errors read "yaml: line 7: <problem>".
	syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	// yaml.v3 type errors read "line 7: cannot unmarshal ...".
	typeLine = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// fileError turns an error from decoding file into *Error values (joined
// when yaml.v3 reports several), keeping yaml.v3's line numbers.
func fileError(file string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &Error{File: file, Line: le.line, Msg: le.msg}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, s := range te.Errors {
			errs = append(errs, splitLine(file, typeLine, s))
		}
		return errors.Join(errs...)
	}
	e := splitLine(file, syntaxLine, err.Error())
	// yaml.v3 reports parser errors (all "did not find expected ...") with
	// the 0-based line of the construct being parsed; scanner errors are
	// 1-based. Shift so every line is 1-based.
	if e.Line > 0 && strings.HasPrefix(e.Msg, "did not find expected") {
		e.Line++
	}
	return e
}

func splitLine(file string, re *regexp.Regexp, s string) *Error {
	if m := re.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Msg: m[2]}
	}
	return &Error{File: file, Msg: strings.TrimPrefix(s, "yaml: ")}
}
