package format

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// ErrBadFilterFormat is returned for a --filter value without '='. Its text
// is the Docker CLI's; when the value comes through a pflag flag bound to
// *[Args], pflag prefixes it exactly as Docker prints it:
//
//	invalid argument "x" for "-f, --filter" flag: bad format of filter (expected name=value)
var ErrBadFilterFormat = errors.New("bad format of filter (expected name=value)")

// InvalidFilterError reports a filter key that a listing does not accept, or
// a value it cannot interpret. Its text is the Docker 20.10 daemon's:
// "Invalid filter 'KEY'" or "Invalid filter 'KEY=[VALUES]'".
type InvalidFilterError struct {
	Filter string   // the filter key
	Value  []string // the offending values; nil when the key itself is invalid
}

func (e *InvalidFilterError) Error() string {
	if e.Value == nil {
		return "Invalid filter '" + e.Filter + "'"
	}
	return fmt.Sprintf("Invalid filter '%s=%s'", e.Filter, e.Value)
}

// Args is a set of filters: each key maps to a set of values. It has the
// semantics of the Docker API's filters.Args: values given for the same key
// are alternatives (OR), different keys must all match (AND), and a matcher
// asked about a key that was not given accepts everything.
//
// The zero Args is an empty, usable set. *Args implements pflag.Value
// (String, Set, Type), so a listing can bind it directly to a repeatable
// --filter flag.
type Args struct {
	fields map[string]map[string]bool
}

// NewArgs returns an empty filter set.
func NewArgs() Args { return Args{fields: map[string]map[string]bool{}} }

// ParseFilters parses --filter values ("key=value") into a filter set, the
// way the Docker CLI's filter flag does: the key is lower-cased, key and
// value are trimmed of white space, an empty string is ignored and a value
// without '=' is rejected with [ErrBadFilterFormat].
func ParseFilters(values []string) (Args, error) {
	args := NewArgs()
	for _, v := range values {
		if err := args.Set(v); err != nil {
			return args, err
		}
	}
	return args, nil
}

// Set adds one --filter value ("key=value"); see [ParseFilters].
func (a *Args) Set(value string) error {
	if value == "" {
		return nil
	}
	key, val, ok := strings.Cut(value, "=")
	if !ok {
		return ErrBadFilterFormat
	}
	a.Add(strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val))
	return nil
}

// String returns the filters as the JSON object the Docker API transports
// ({"key":{"value":true}}), or "" when there are none.
func (a *Args) String() string {
	if a.Len() == 0 {
		return ""
	}
	b, err := json.Marshal(a.fields)
	if err != nil {
		return ""
	}
	return string(b)
}

// Type is the flag value type name shown in usage texts ("filter").
func (a *Args) Type() string { return "filter" }

// Add adds value to the values of key.
func (a *Args) Add(key, value string) {
	if a.fields == nil {
		a.fields = map[string]map[string]bool{}
	}
	if a.fields[key] == nil {
		a.fields[key] = map[string]bool{}
	}
	a.fields[key][value] = true
}

// Del removes value from the values of key, and key once it has none left.
func (a *Args) Del(key, value string) {
	if values, ok := a.fields[key]; ok {
		delete(values, value)
		if len(values) == 0 {
			delete(a.fields, key)
		}
	}
}

// Len returns the number of distinct keys.
func (a Args) Len() int { return len(a.fields) }

// Keys returns the keys, sorted.
func (a Args) Keys() []string { return slices.Sorted(maps.Keys(a.fields)) }

// Get returns the values of key, sorted; an empty (non-nil) slice if none.
func (a Args) Get(key string) []string {
	values := slices.Sorted(maps.Keys(a.fields[key]))
	if values == nil {
		values = []string{}
	}
	return values
}

// Contains reports whether key was given.
func (a Args) Contains(key string) bool {
	_, ok := a.fields[key]
	return ok
}

// Clone returns an independent copy of a.
func (a Args) Clone() Args {
	c := NewArgs()
	for k, values := range a.fields {
		c.fields[k] = maps.Clone(values)
	}
	return c
}

// Validate returns an [InvalidFilterError] for the first key (in sorted
// order) that is not in accepted.
func (a Args) Validate(accepted map[string]bool) error {
	for _, key := range a.Keys() {
		if !accepted[key] {
			return &InvalidFilterError{Filter: key}
		}
	}
	return nil
}

// WalkValues calls fn for each value of key (sorted) and stops at the first
// error, which it returns.
func (a Args) WalkValues(key string, fn func(value string) error) error {
	for _, v := range a.Get(key) {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// ExactMatch reports whether source is one of the values of key; it is true
// when key was not given.
func (a Args) ExactMatch(key, source string) bool {
	values := a.fields[key]
	if len(values) == 0 {
		return true
	}
	return values[source]
}

// UniqueExactMatch reports whether key has exactly one value and source
// equals it; it is true when key was not given.
func (a Args) UniqueExactMatch(key, source string) bool {
	values := a.fields[key]
	if len(values) == 0 {
		return true
	}
	return len(values) == 1 && values[source]
}

// FuzzyMatch reports whether source equals one of the values of key or
// starts with one of them; it is true when key was not given.
func (a Args) FuzzyMatch(key, source string) bool {
	if a.ExactMatch(key, source) {
		return true
	}
	for prefix := range a.fields[key] {
		if strings.HasPrefix(source, prefix) {
			return true
		}
	}
	return false
}

// Match reports whether source equals one of the values of key or matches
// one of them as a regular expression (invalid expressions never match); it
// is true when key was not given.
func (a Args) Match(key, source string) bool {
	if a.ExactMatch(key, source) {
		return true
	}
	for expr := range a.fields[key] {
		if ok, err := regexp.MatchString(expr, source); err == nil && ok {
			return true
		}
	}
	return false
}

// MatchKVList reports whether every value of key is satisfied by sources, a
// label map: a value "k" requires label k to exist, "k=v" requires it to
// equal v. Unlike the other matchers all values must hold (AND), as for
// Docker's label filter. It is true when key was not given and false for an
// empty sources map otherwise.
func (a Args) MatchKVList(key string, sources map[string]string) bool {
	values := a.fields[key]
	if len(values) == 0 {
		return true
	}
	if len(sources) == 0 {
		return false
	}
	for value := range values {
		k, want, hasValue := strings.Cut(value, "=")
		got, ok := sources[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

// GetBoolOrDefault returns the boolean given for key ("true"/"1" or
// "false"/"0"), or def when key was not given. Any other value, or both a
// true and a false value, gives def and an [InvalidFilterError] such as
// "Invalid filter 'dangling=[maybe]'".
func (a Args) GetBoolOrDefault(key string, def bool) (bool, error) {
	values, ok := a.fields[key]
	if !ok {
		return def, nil
	}
	if len(values) == 0 {
		return def, &InvalidFilterError{Filter: key}
	}
	isFalse := values["0"] || values["false"]
	isTrue := values["1"] || values["true"]
	if isFalse == isTrue {
		return def, &InvalidFilterError{Filter: key, Value: a.Get(key)}
	}
	return isTrue, nil
}

// FromJSON reads the Engine API's "filters" query parameter: {"key":{"value":true}}, or the
// pre-1.22 form {"key":["value"]} that old clients still send. An empty string is no filter.
// A malformed document is an error naming it, which the API answers with 400.
func FromJSON(s string) (Args, error) {
	args := NewArgs()
	if s == "" {
		return args, nil
	}
	if err := json.Unmarshal([]byte(s), &args.fields); err == nil {
		if args.fields == nil {
			args.fields = map[string]map[string]bool{}
		}
		return args, nil
	}
	var legacy map[string][]string
	if err := json.Unmarshal([]byte(s), &legacy); err != nil {
		return NewArgs(), fmt.Errorf("invalid filter: %q is not a JSON object of filters", s)
	}
	for k, vs := range legacy {
		for _, v := range vs {
			args.Add(k, v)
		}
	}
	return args, nil
}

// ToJSON is the Engine API encoding of a: {"key":{"value":true}}.
func (a Args) ToJSON() string {
	if len(a.fields) == 0 {
		return ""
	}
	b, _ := json.Marshal(a.fields)
	return string(b)
}
