package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// MaxBodyBytes bounds request bodies; larger ones are answered with 413.
const MaxBodyBytes = 1 << 20

// handlerFunc is every API handler: it returns the success body (or a *reply) or an error
// that wrap maps to a status.
type handlerFunc func(r *http.Request) (any, error)

// reply is a success answer other than 200 with a body.
type reply struct {
	status   int
	body     any // nil: no body
	location string
}

// httpError is an error whose status the handler knows.
type httpError struct {
	status int
	msg    string
	field  string
	err    error // logged, never shown
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.err }

func badRequest(field, format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// fieldHint names the request field an error is about when the error itself cannot: a
// store's not-found or a cycle knows nothing of path parameters. classify uses it only for
// client errors (4xx) that name no field of their own.
type fieldHint struct {
	field string
	err   error
}

func (e *fieldHint) Error() string { return e.err.Error() }
func (e *fieldHint) Unwrap() error { return e.err }

// onField attaches field to err for the answer's "field" (see fieldHint).
func onField(field string, err error) error { return &fieldHint{field: field, err: err} }

// errEmptyBody marks a request without a body where one was required.
var errEmptyBody = errors.New("empty body")

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (a *API) wrap(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeoutCause(r.Context(), a.requestTimeout, errors.New("api request deadline exceeded"))
		defer cancel()
		r = r.WithContext(ctx)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		if r.Method != http.MethodPost && hasBody(r) {
			// Only POSTs read a body: anything sent with a GET or DELETE would be ignored.
			a.writeError(w, r, badRequest("body", "%s takes no request body", r.Method))
			return
		}
		v, err := h(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if rep, ok := v.(*reply); ok {
			if rep.location != "" {
				w.Header().Set("Location", rep.location)
			}
			if rep.body == nil {
				w.WriteHeader(rep.status)
				return
			}
			a.writeJSON(w, rep.status, rep.body)
			return
		}
		a.writeJSON(w, http.StatusOK, v)
	}
}

// hasBody reports whether r carries a body. One of unknown length is peeked at, and put back.
func hasBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	if r.ContentLength > 0 {
		return true
	}
	var b [1]byte
	n, _ := io.ReadFull(r.Body, b[:])
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b[:n]), r.Body), r.Body}
	return n > 0
}

func (a *API) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.logger.Error("encoding response", "err", err)
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "internal error"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError maps err to its status and writes {"error": ..., "field": ...}. Details of
// internal errors are logged, never sent.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := classify(err)
	log := a.logger.With("method", r.Method, "path", r.URL.Path, "status", status)
	// Refused credentials are debug, like every other refused request: anyone can send them,
	// and at WARN a scanner flooded the log (issue 11, item 11). kai_http_auth_failures_total
	// counts them for alerting.
	switch {
	case errors.Is(err, store.ErrUnavailable):
		// The store logs an outage once when it starts and once when it ends, and counts
		// every failure: a line per request flooded the log (issue 11, item 11).
		log.Debug("request failed: store unavailable", "err", err)
	case status >= 500:
		log.Error("request failed", "err", err)
	default:
		log.Debug("request refused", "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kai-scaler"`)
	}
	a.writeJSON(w, status, body)
}

// classify is the one mapping from errors to statuses. Every client error (4xx) names a
// field (issue 11, item 10): a body field or "body", a path or query parameter, a header,
// "path" for an unknown route and "method" for a method the route does not take.
func classify(err error) (int, errorBody) {
	status, body := classifyStatus(err)
	var hint *fieldHint
	if body.Field == "" && status >= 400 && status < 500 && errors.As(err, &hint) {
		body.Field = hint.field
	}
	return status, body
}

func classifyStatus(err error) (int, errorBody) {
	var (
		he     *httpError
		fe     *scaling.FieldError
		ce     *scaling.CycleError
		maxErr *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("request body is larger than %d bytes", maxErr.Limit), Field: "body"}
	case errors.As(err, &he):
		return he.status, errorBody{Error: he.msg, Field: he.field}
	case errors.As(err, &fe):
		return http.StatusBadRequest, errorBody{Error: fe.Error(), Field: fe.Field}
	case errors.As(err, &ce):
		return http.StatusConflict, errorBody{Error: ce.Error()}
	case errors.Is(err, store.ErrLimit):
		return http.StatusConflict, errorBody{Error: limitMessage(err)}
	case errors.Is(err, scaling.ErrCycle):
		return http.StatusConflict, errorBody{Error: scaling.ErrCycle.Error()}
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, errorBody{Error: "not found"}
	case isUnknownService(err):
		return http.StatusNotFound, errorBody{Error: msgUnknownService}
	case isBusy(err):
		return http.StatusConflict, errorBody{Error: msgBusy}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, errorBody{Error: "too many concurrent writers; try again"}
	case errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable, errorBody{Error: "store unavailable; try again later"}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, errorBody{Error: "request timed out; try again later"}
	}
	return http.StatusInternalServerError, errorBody{Error: "internal error"}
}

// decodeJSON reads exactly one JSON object into v, strictly (see strictCheck): unknown or
// duplicate keys, keys in another case, nulls in arrays, wrong types and trailing data are 400
// errors naming the field as validation does; a body over MaxBodyBytes is 413.
func decodeJSON(r *http.Request, v any) error {
	if err := requireJSON(r.Header.Values("Content-Type")); err != nil {
		return err // guardWrites checks first; this keeps the decoder safe on its own
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	return decodeStrict(body, v)
}

func decodeError(err error) error {
	var (
		syn    *json.SyntaxError
		typ    *json.UnmarshalTypeError
		maxErr *http.MaxBytesError
		he     *httpError
	)
	switch {
	case errors.As(err, &maxErr), errors.As(err, &he):
		return err
	case errors.Is(err, io.EOF):
		return &httpError{status: http.StatusBadRequest, field: "body", msg: "request body is empty; a JSON object is required", err: errEmptyBody}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "request body is truncated JSON")
	case errors.As(err, &syn):
		return badRequest("body", "request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("body", "request body must be a JSON object, got %s", typ.Value)
		}
		return badRequest(typ.Field, "%s: must be %s, got %s", typ.Field, jsonKind(typ.Type), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badRequest(name, "%s: unknown field", name)
	}
	return badRequest("body", "request body is not valid JSON")
}

// jsonKind names a Go type as the JSON value it decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// limitMessage is what a refused write says: the store's cap, without the operation's names.
func limitMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, store.ErrLimit.Error()); i >= 0 {
		return msg[i:]
	}
	return store.ErrLimit.Error()
}
