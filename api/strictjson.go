package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// strictCheck walks one JSON value against the Go type it will be decoded into and refuses
// what encoding/json lets through (issue 11, item 9): keys that differ from a field's json
// tag only in case ("HOUROFDAY" would fill hourOfDay), duplicate keys (the last one won),
// and null elements of arrays (decoded as a zero window: hour 0, load 0). It also checks the
// JSON kind of every value, so that errors name the field as validation does:
// timeWindows[0].hourOfDay, not timeWindows.hourOfDay. It reads no further than the value.
func strictCheck(dec *json.Decoder, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return err // io.EOF: the body is empty
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badRequest("body", "request body must be a JSON object, got %s", describe(tok))
	}
	return noEOF(walkObject(dec, deref(t), ""))
}

// noEOF turns an end of input inside a value into ErrUnexpectedEOF: only an empty body ends
// before the first token.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonFields maps the exact json names of a struct's exported fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// walkObject reads an object's members after its '{' up to and including its '}'.
func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		name := key
		if name == "" {
			name = `""` // a field name must not be empty
		}
		field := join(path, name)
		if seen[key] {
			return badRequest(field, "%s: duplicate key", field)
		}
		seen[key] = true
		ft := reflect.TypeOf((*any)(nil)).Elem()
		if t.Kind() == reflect.Map {
			ft = t.Elem()
		}
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				return badRequest(field, "%s: unknown field", field)
			}
		}
		if err := walkValue(dec, ft, field, false); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// walkValue reads one value that decodes into t. inArray: a null is refused.
func walkValue(dec *json.Decoder, t reflect.Type, path string, inArray bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	t = deref(t)
	loose := t.Kind() == reflect.Interface
	mismatch := func() error {
		return badRequest(path, "%s: must be %s, got %s", path, jsonKind(t), describe(tok))
	}
	switch v := tok.(type) {
	case nil:
		if inArray {
			return badRequest(path, "%s: must not be null", path)
		}
		return nil // a null member leaves the field unset; validation says when it is required
	case json.Delim:
		switch {
		case v == '{' && (loose || t.Kind() == reflect.Struct || t.Kind() == reflect.Map):
			return walkObject(dec, t, path)
		case v == '[' && (loose || t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			elem := t
			if !loose {
				elem = t.Elem()
			}
			for i := 0; dec.More(); i++ {
				if err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i), true); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ']'
			return err
		}
		return mismatch()
	case string:
		if !loose && t.Kind() != reflect.String {
			return mismatch()
		}
	case bool:
		if !loose && t.Kind() != reflect.Bool {
			return mismatch()
		}
	case json.Number:
		return checkNumber(t, v, path, mismatch)
	}
	return nil
}

func checkNumber(t reflect.Type, n json.Number, path string, mismatch func() error) error {
	switch t.Kind() {
	case reflect.Interface, reflect.Float32, reflect.Float64:
		// encoding/json refuses a number beyond the float's range (-1e400) with an error that
		// names the field without its index and calls it "not a number".
		bits := 64
		if t.Kind() == reflect.Float32 {
			bits = 32
		}
		if _, err := strconv.ParseFloat(string(n), bits); err != nil {
			return badRequest(path, "%s: out of range of a %d-bit floating-point number, got %s", path, bits, n)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			if isInteger(n) {
				return badRequest(path, "%s: must be an integer that fits in %d bits, got %s", path, t.Bits(), n)
			}
			return mismatch()
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); err != nil {
			return mismatch()
		}
	default:
		return mismatch()
	}
	return nil
}

func isInteger(n json.Number) bool {
	s := strings.TrimPrefix(string(n), "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// describe names a token for an error message, as encoding/json does ("number 1.5").
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '{' {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	case json.Number:
		return "number " + string(v)
	}
	return fmt.Sprintf("%T", tok)
}

// decodeStrict decodes body, already read, into v after strictCheck has passed; trailing data
// is an error.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := strictCheck(dec, reflect.TypeOf(v)); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("body", "request body must hold one JSON object and nothing after it")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(err) // strictCheck refuses everything Unmarshal would; kept for safety
	}
	return nil
}
