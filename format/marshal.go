package format

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// notFields are exported methods that are never template fields. FullHeader
// is the Docker CLI's header accessor and is skipped there too; it is kept so
// row types ported from docker/cli marshal identically.
var notFields = map[string]bool{"FullHeader": true}

// MarshalContext returns the JSON object of a row context: one member per
// exported method that takes no argument and returns exactly one value,
// named after the method and holding what it returns. Keys are sorted and
// the encoding is that of encoding/json.Marshal (HTML characters escaped, so
// "<none>" reads "\u003cnone\u003e"), exactly like the Docker CLI's
// formatter.MarshalJSON. Row types call it from their MarshalJSON method:
//
//	func (r *imageRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
//
// v must be a non-nil pointer to a struct; a struct value is accepted too
// and marshalled through a copy, so that its pointer methods are included.
func MarshalContext(v any) ([]byte, error) {
	m, err := contextFields(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// contextFields calls the field methods of v and collects their results.
func contextFields(v any) (map[string]any, error) {
	val := reflect.ValueOf(v)
	switch {
	case !val.IsValid():
		return nil, errors.New("expected a pointer to a struct, got nil")
	case val.Kind() == reflect.Struct:
		p := reflect.New(val.Type())
		p.Elem().Set(val)
		val = p
	case val.Kind() != reflect.Pointer:
		return nil, fmt.Errorf("expected a pointer to a struct, got %v", val.Kind())
	case val.IsNil():
		return nil, errors.New("expected a pointer to a struct, got nil pointer")
	case val.Elem().Kind() != reflect.Struct:
		return nil, fmt.Errorf("expected a pointer to a struct, got a pointer to %v", val.Elem().Kind())
	}

	typ := val.Type()
	fields := make(map[string]any, typ.NumMethod())
	for i := range typ.NumMethod() {
		method := typ.Method(i) // exported methods only
		fn := val.Method(i).Type()
		if notFields[method.Name] || fn.NumIn() != 0 || fn.NumOut() != 1 {
			continue
		}
		fields[method.Name] = val.Method(i).Call(nil)[0].Interface()
	}
	return fields, nil
}
