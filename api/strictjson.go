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
	"unicode/utf16"
	"unicode/utf8"
)

// strictCheck walks one JSON value against the Go type it will be decoded into and refuses
// what encoding/json lets through (issue 11, item 9): keys that differ from a field's json
// tag only in case ("HOUROFDAY" would fill hourOfDay), duplicate keys (the last one won),
// and null elements of arrays (decoded as a zero window: hour 0, load 0). It also checks the
// JSON kind of every value, so that errors name the field as validation does:
// timeWindows[0].hourOfDay, not timeWindows.hourOfDay. It reads no further than the value.
func strictCheck(dec *strictDecoder, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return onPath(err, "") // io.EOF: the body is empty
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
func walkObject(dec *strictDecoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return onPath(err, path) // a key's own name would hold the U+FFFD it was read as
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
func walkValue(dec *strictDecoder, t reflect.Type, path string, inArray bool) error {
	tok, err := dec.Token()
	if err != nil {
		return onPath(err, path)
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

// strictDecoder is a json.Decoder whose Token refuses a string holding an unpaired UTF-16
// surrogate escape ("\ud800"): encoding/json stores U+FFFD in its place without a word, so
// a client's broken text would be kept as if it were what was sent. Only the raw bytes of
// the token tell such an escape from a U+FFFD that was sent.
type strictDecoder struct {
	*json.Decoder
	raw []byte // everything the decoder reads; InputOffset indexes it
}

func newStrictDecoder(raw []byte) *strictDecoder {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return &strictDecoder{Decoder: dec, raw: raw}
}

// surrogateError is an unpaired surrogate escape at byte offset of the body.
type surrogateError struct {
	escape string // as sent: \ud800
	offset int64
}

func (e *surrogateError) Error() string {
	return fmt.Sprintf("unpaired UTF-16 surrogate %s at byte %d", e.escape, e.offset)
}

func (d *strictDecoder) Token() (json.Token, error) {
	start := d.InputOffset()
	tok, err := d.Decoder.Token()
	// Every unpaired surrogate decodes to U+FFFD: a string without one needs no second look.
	if s, ok := tok.(string); ok && err == nil && strings.ContainsRune(s, utf8.RuneError) {
		lit := d.raw[start:d.InputOffset()]
		if i := unpairedSurrogate(lit); i >= 0 {
			return tok, &surrogateError{escape: string(lit[i : i+6]), offset: start + int64(i)}
		}
	}
	return tok, err
}

// unpairedSurrogate returns the index in lit of the first \u escape of a UTF-16 surrogate that
// is not half of a high-low pair, or -1. lit is one string token as the decoder read it: the
// separators and spaces before it, then the quoted string, whose syntax is already checked.
func unpairedSurrogate(lit []byte) int {
	i := bytes.IndexByte(lit, '"')
	if i < 0 {
		return -1
	}
	for i++; i < len(lit) && lit[i] != '"'; i++ {
		if lit[i] != '\\' {
			continue
		}
		i++ // the escaped byte: \\ and \" are skipped whole, so \\ud800 is no escape of a surrogate
		if lit[i] != 'u' {
			continue
		}
		r := hex4(lit[i+1:])
		switch {
		case !utf16.IsSurrogate(r):
		case r < 0xDC00 && i+10 < len(lit) && lit[i+5] == '\\' && lit[i+6] == 'u' && isLowSurrogate(hex4(lit[i+7:])):
			i += 6 // the low half
		default:
			return i - 1
		}
		i += 4
	}
	return -1
}

// hex4 reads the four hex digits of a \u escape; the JSON scanner has checked them.
func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return utf8.RuneError
	}
	return rune(n)
}

func isLowSurrogate(r rune) bool { return r >= 0xDC00 && r <= 0xDFFF }

// onPath names the field of an unpaired surrogate; other errors pass unchanged.
func onPath(err error, path string) error {
	var se *surrogateError
	if !errors.As(err, &se) {
		return err
	}
	if path == "" {
		path = "body"
	}
	return badRequest(path, "%s: %s", path, se)
}

// invalidUTF8 returns the index of the first byte of b that is not part of a UTF-8 sequence,
// or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1 // every body that is fine: utf8.Valid's ASCII fast path, not a rune at a time
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// decodeStrict decodes body, already read, into v after strictCheck has passed; trailing data
// is an error.
func decodeStrict(body []byte, v any) error {
	// JSON text is UTF-8 (RFC 8259, section 8.1); encoding/json would store U+FFFD for each
	// bad byte inside a string, so a Latin-1 body's "café" would be kept as "caf\uFFFD".
	if i := invalidUTF8(body); i >= 0 {
		return badRequest("body", "body: not valid UTF-8 at byte %d", i)
	}
	// RFC 8259, section 8.1: a BOM is not JSON; refused by name rather than as "invalid
	// character" at a byte the client cannot see.
	if bytes.HasPrefix(body, []byte("\uFEFF")) {
		return badRequest("body", "body: starts with a byte order mark (U+FEFF); send JSON without one")
	}
	dec := newStrictDecoder(body)
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
