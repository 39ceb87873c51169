package metrics

import (
	"fmt"
	"regexp"
	"sort"
)

// Rule is one Configuration spec.metric.rules entry: for the metric Name
// (daprd's full name, "dapr_http_server_request_count"), rewrite the values
// of the listed labels.
type Rule struct {
	Name   string
	Labels []RuleLabel
}

// RuleLabel maps replacement values to the regular expressions whose
// matches they replace, for one label.
type RuleLabel struct {
	Name  string
	Regex map[string]string // replacement -> expression
}

type regexPair struct {
	re      *regexp.Regexp
	replace string
}

// rules is the compiled form: metric name + "\x00" + label -> pairs. daprd
// runs every pair's ReplaceAllString over the value in turn; its map order
// is random, ours is sorted by replacement so the result is stable.
type rules map[string][]regexPair

func compileRules(rs []Rule) (rules, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	out := rules{}
	for _, r := range rs {
		for _, l := range r.Labels {
			keys := make([]string, 0, len(l.Regex))
			for k := range l.Regex {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			pairs := make([]regexPair, 0, len(keys))
			for _, k := range keys {
				re, err := regexp.Compile(l.Regex[k])
				if err != nil {
					return nil, fmt.Errorf("metric rule %s/%s: %w", r.Name, l.Name, err)
				}
				pairs = append(pairs, regexPair{re: re, replace: k})
			}
			out[r.Name+"\x00"+l.Name] = pairs
		}
	}
	return out, nil
}

// apply rewrites the label values lv (named names) of metric name in
// place. It runs when a label set is first resolved, never per request.
func (rs rules) apply(name string, names, lv []string) {
	if len(rs) == 0 {
		return
	}
	for i, n := range names {
		if lv[i] == "" {
			continue // daprd leaves an empty value alone
		}
		for _, p := range rs[name+"\x00"+n] {
			lv[i] = p.re.ReplaceAllString(lv[i], p.replace)
		}
	}
}

// ValidateRules compiles rs and reports the first bad expression, for a
// check at start-up.
func ValidateRules(rs []Rule) error {
	_, err := compileRules(rs)
	return err
}
