package api

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// Cursors of the newest-first record lists: HPA events, floor decisions, forecast runs and
// predictions. A cursor is a tag naming its list, then the key of the page's last record (a
// total order: see the store's EventKey, RunKey, PredictionKey; a decision's Timestamp is
// unique in its service), NUL-separated and made opaque by encodeCursor as every next cursor
// is. The tags are capitalised, so no part of them reads as a service name: a cursor of one of
// these lists is refused by every other list, the pattern, dependency and override lists
// included, which check that their cursors' parts are service names.
const (
	eventsCursorTag      = "Events"
	decisionsCursorTag   = "Decisions"
	runsCursorTag        = "Runs"
	predictionsCursorTag = "Predictions"
)

// errNotACursor is the answer to a next cursor the list did not make, as for every list.
func errNotACursor() error { return badRequest("next", "next: not a cursor of this list") }

// recordCursor joins tag and a record's key parts into a next cursor.
func recordCursor(tag string, parts ...string) string {
	return encodeCursor(tag + "\x00" + strings.Join(parts, "\x00"))
}

// splitRecordCursor splits a decoded next cursor of the list tagged tag into its n key parts,
// none empty; the last part may hold NULs (record IDs are free-form). ok is false when c is
// not such a cursor.
func splitRecordCursor(c, tag string, n int) (parts []string, ok bool) {
	parts = strings.SplitN(c, "\x00", n+1)
	if len(parts) != n+1 || parts[0] != tag {
		return nil, false
	}
	for _, p := range parts[1:] {
		if p == "" {
			return nil, false
		}
	}
	return parts[1:], true
}

// cursorInt reads a time of a cursor, written by strconv.FormatInt: only that spelling, so a
// cursor is either one the server made or refused.
func cursorInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && strconv.FormatInt(v, 10) == s
}

func formatInt(v int64) string { return strconv.FormatInt(v, 10) }

// eventCursor is the next cursor of a page of events ending at e.
func eventCursor(e scaling.Event) string {
	return recordCursor(eventsCursorTag, formatInt(e.Timestamp), e.Service, e.ID)
}

// decodeEventCursor reads a decoded next cursor of an event list; service, when set, is the one
// service the list is of, and the cursor must be of one of its events.
func decodeEventCursor(c, service string) (store.EventKey, error) {
	parts, ok := splitRecordCursor(c, eventsCursorTag, 3)
	if !ok || service != "" && parts[1] != service {
		return store.EventKey{}, errNotACursor()
	}
	ts, ok := cursorInt(parts[0])
	if !ok {
		return store.EventKey{}, errNotACursor()
	}
	return store.EventKey{Timestamp: ts, Service: parts[1], ID: parts[2]}, nil
}

// decisionCursor is the next cursor of a page of decisions ending at d.
func decisionCursor(d scaling.FloorDecision) string {
	return recordCursor(decisionsCursorTag, d.Service, formatInt(d.Timestamp))
}

// decodeDecisionCursor reads a decoded next cursor of service's decision list.
func decodeDecisionCursor(c, service string) (*int64, error) {
	parts, ok := splitRecordCursor(c, decisionsCursorTag, 2)
	if !ok || parts[0] != service {
		return nil, errNotACursor()
	}
	ts, ok := cursorInt(parts[1])
	if !ok {
		return nil, errNotACursor()
	}
	return &ts, nil
}

// runCursor is the next cursor of a page of runs ending at run.
func runCursor(run scaling.ForecastRun) string {
	return recordCursor(runsCursorTag, formatInt(run.QueuedAt), run.ID)
}

// decodeRunCursor reads a decoded next cursor of the run list.
func decodeRunCursor(c string) (store.RunKey, error) {
	parts, ok := splitRecordCursor(c, runsCursorTag, 2)
	if !ok {
		return store.RunKey{}, errNotACursor()
	}
	queuedAt, ok := cursorInt(parts[0])
	if !ok {
		return store.RunKey{}, errNotACursor()
	}
	return store.RunKey{QueuedAt: queuedAt, ID: parts[1]}, nil
}

// predictionCursor is the next cursor of a page of predictions ending at p.
func predictionCursor(p scaling.Prediction) string {
	return recordCursor(predictionsCursorTag, formatInt(p.FittedAt), p.Service)
}

// decodePredictionCursor reads a decoded next cursor of a prediction list; service, when set,
// is the one service the list is of.
func decodePredictionCursor(c, service string) (store.PredictionKey, error) {
	parts, ok := splitRecordCursor(c, predictionsCursorTag, 2)
	if !ok || service != "" && parts[1] != service {
		return store.PredictionKey{}, errNotACursor()
	}
	fittedAt, ok := cursorInt(parts[0])
	if !ok {
		return store.PredictionKey{}, errNotACursor()
	}
	return store.PredictionKey{FittedAt: fittedAt, Service: parts[1]}, nil
}

// nextCursor decodes the optional next parameter of a list ("" when absent): parsePage's, and
// the record lists', which take more parameters than parsePage allows.
func nextCursor(q url.Values) (string, error) {
	if !q.Has("next") {
		return "", nil
	}
	c := q.Get("next")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	// The decoder skips line breaks: only the spelling encodeCursor writes is a cursor.
	if err != nil || len(raw) == 0 || !utf8.Valid(raw) || encodeCursor(string(raw)) != c {
		return "", errNotACursor()
	}
	return string(raw), nil
}

// cutPage cuts items, read with limit+1 asked for, to a page of limit and the cursor of the
// page after it: "" when the extra item did not come, so no page follows. The items are never
// nil, as the lists answer [] rather than null.
func cutPage[T any](items []T, limit int, cursor func(T) string) ([]T, string) {
	if items == nil {
		return []T{}, ""
	}
	if len(items) <= limit {
		return items, ""
	}
	return items[:limit], cursor(items[limit-1])
}

// decodeNext reads the optional next parameter of a list of service's records (service ""
// for every service's) with decode; the zero key, the first page, when it is absent.
func decodeNext[K any](q url.Values, service string, decode func(c, service string) (K, error)) (K, error) {
	var first K
	c, err := nextCursor(q)
	if err != nil || c == "" {
		return first, err
	}
	return decode(c, service)
}
