package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// Limits of the shadow endpoint.
const (
	DefaultShadowDays = 7
	MaxShadowDays     = store.ShadowMaxDays
)

type overridesBody struct {
	Overrides []scaling.Override `json:"overrides"`
	// Next, when set, is the cursor of the next page: pass it back as ?next=.
	Next string `json:"next,omitempty"`
}

type decisionsBody struct {
	Decisions []scaling.FloorDecision `json:"decisions"`
	// Next, when set, is the cursor of the next (older) page: pass it back as ?next=.
	Next string `json:"next,omitempty"`
}

// shadowBody answers GET /api/predictive-scaling/shadow/{service}: the days asked for, newest
// first, and their sums.
type shadowBody struct {
	Service string              `json:"service"`
	Days    []scaling.ShadowDay `json:"days"`
	Totals  shadowTotals        `json:"totals"`
}

type shadowTotals struct {
	Days                                     int     `json:"days"`
	ObservedSeconds                          float64 `json:"observedSeconds"`
	UnderprovisionedReplicaMinutes           float64 `json:"underprovisionedReplicaMinutes"`
	UnderprovisionedReplicaMinutesWithFloors float64 `json:"underprovisionedReplicaMinutesWithFloors"`
	UnderprovisionedReplicaMinutesSaved      float64 `json:"underprovisionedReplicaMinutesSaved"`
	ExtraReplicaHours                        float64 `json:"extraReplicaHours"`
}

// overrideRequest is the body of POST /api/predictive-scaling/overrides/{service}. Times are
// strings so that a malformed one is a 400 naming its field, not a generic JSON error.
type overrideRequest struct {
	Service      string   `json:"service"`
	Start        *string  `json:"start"`
	End          *string  `json:"end"`
	MinReplicas  *int32   `json:"minReplicas"`
	ExpectedLoad *float64 `json:"expectedLoad"`
	Reason       string   `json:"reason"`
}

func parseTime(field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, badRequest(field, "%s: is required (an RFC 3339 time)", field)
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, badRequest(field, "%s: must be an RFC 3339 time such as 2026-12-24T08:00:00Z, got %q", field, *s)
	}
	return t.UTC(), nil
}

// newOverrideID returns a random id: unguessable, so one client cannot delete another's
// override by counting, and never reused.
func newOverrideID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate override id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// --- overrides ---

// listOverrides answers one page of every service's overrides, or of one service's: limit
// (default DefaultListLimit, at most MaxListLimit) sorted by service, start and ID, after the
// cursor next; the body's next is set when more follow. Overrides that have ended are left
// out; the actuator prunes them from the store each round.
func (a *API) listOverrides(r *http.Request) (any, error) {
	limit, cursor, err := parsePage(r)
	if err != nil {
		return nil, err
	}
	svc := ""
	if chi.URLParam(r, "service") != "" {
		if svc, err = pathService(r, "service"); err != nil {
			return nil, err
		}
	}
	q := store.OverrideQuery{Service: svc, EndAfter: a.now(), Limit: limit + 1}
	if cursor != "" {
		if q.After, err = decodeOverrideCursor(cursor, svc); err != nil {
			return nil, err
		}
	}
	page, err := a.store.PageOverrides(r.Context(), q)
	if err != nil {
		return nil, fmt.Errorf("list overrides: %w", err)
	}
	body := overridesBody{Overrides: page}
	if len(page) > limit {
		body.Overrides = page[:limit]
		body.Next = encodeCursor(overrideCursor(page[limit-1]))
	}
	if body.Overrides == nil {
		body.Overrides = []scaling.Override{}
	}
	return body, nil
}

// overrideCursor is the key of o in a next cursor: service, start and ID, NUL-separated
// (service names and RFC 3339 times hold no NUL; IDs hold no "/").
func overrideCursor(o scaling.Override) string {
	return o.Service + "\x00" + o.Start.UTC().Format(time.RFC3339Nano) + "\x00" + o.ID
}

// decodeOverrideCursor reads a decoded next cursor of an override list; service, when set, is
// the one service the list is of.
func decodeOverrideCursor(c, service string) (store.OverrideKey, error) {
	bad := badRequest("next", "next: not a cursor of this list")
	parts := strings.Split(c, "\x00")
	if len(parts) != 3 || scaling.ValidateServiceName("next", parts[0]) != nil || (service != "" && parts[0] != service) ||
		parts[2] == "" || strings.Contains(parts[2], "/") {
		return store.OverrideKey{}, bad
	}
	start, err := time.Parse(time.RFC3339Nano, parts[1])
	if err != nil || start.UTC().Format(time.RFC3339Nano) != parts[1] { // only overrideCursor's spelling
		return store.OverrideKey{}, bad
	}
	return store.OverrideKey{Service: parts[0], Start: start, ID: parts[2]}, nil
}

func (a *API) putOverride(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	var req overrideRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Service != "" && req.Service != svc {
		return nil, badRequest("service", "service: %q in the body differs from %q in the path", req.Service, svc)
	}
	start, err := parseTime("start", req.Start)
	if err != nil {
		return nil, err
	}
	end, err := parseTime("end", req.End)
	if err != nil {
		return nil, err
	}
	now := a.now()
	o := scaling.Override{
		Service: svc, Start: start, End: end,
		MinReplicas: req.MinReplicas, ExpectedLoad: req.ExpectedLoad, Reason: req.Reason,
		CreatedAt: now.UnixMilli(),
	}
	if err := o.Validate(now); err != nil {
		return nil, err
	}
	if err := a.requireManaged(r.Context(), "service", svc); err != nil {
		return nil, err
	}
	if o.ID, err = newOverrideID(); err != nil {
		return nil, err
	}
	if err := a.store.PutOverride(r.Context(), o); err != nil {
		// The cap (ErrLimit) is the path's service's: a 409 naming "service".
		return nil, onField("service", fmt.Errorf("put override of %s: %w", svc, err))
	}
	return &reply{
		status:   http.StatusCreated,
		body:     o,
		location: "/api/predictive-scaling/overrides/" + url.PathEscape(svc) + "/" + url.PathEscape(o.ID),
	}, nil
}

// overridePath reads the service and the override id of a request on one override, which
// takes no query parameters.
func overridePath(r *http.Request) (svc, id string, err error) {
	if err := noQuery(r); err != nil {
		return "", "", err
	}
	if svc, err = pathService(r, "service"); err != nil {
		return "", "", err
	}
	return svc, pathParam(r, "id"), nil
}

// noOverride is the answer for an override id its service does not have.
func noOverride(svc string, err error) error {
	return &httpError{status: http.StatusNotFound, field: "id", msg: fmt.Sprintf("service %s has no override with this id", svc), err: err}
}

// getOverride answers one override, as listOverrides would show it: one that has ended is not
// found, like one already pruned.
func (a *API) getOverride(r *http.Request) (any, error) {
	svc, id, err := overridePath(r)
	if err != nil {
		return nil, err
	}
	all, err := a.store.ListOverrides(r.Context(), svc)
	if err != nil {
		return nil, fmt.Errorf("list overrides of %s: %w", svc, err)
	}
	for _, o := range all {
		if o.ID == id && o.End.After(a.now()) {
			return o, nil
		}
	}
	return nil, noOverride(svc, nil)
}

func (a *API) deleteOverride(r *http.Request) (any, error) {
	svc, id, err := overridePath(r)
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteOverride(r.Context(), svc, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, noOverride(svc, err)
		}
		return nil, fmt.Errorf("delete override of %s: %w", svc, err)
	}
	return &reply{status: http.StatusNoContent}, nil
}

// --- floor decisions ---

// listDecisions answers one page of a service's decision record: limit (default
// DefaultListLimit, at most MaxListLimit) decisions newest first, after the cursor next; the
// body's next is set when more follow.
func (a *API) listDecisions(r *http.Request) (any, error) {
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "since", "next"); err != nil {
		return nil, err
	}
	dq := store.DecisionQuery{Service: svc}
	limit, err := parseLimit(q)
	if err != nil {
		return nil, err
	}
	dq.Limit = limit + 1
	if dq.Since, err = parseSince(q.Get("since")); err != nil {
		return nil, err
	}
	if dq.Before, err = decodeNext(q, svc, decodeDecisionCursor); err != nil {
		return nil, err
	}
	ds, err := a.store.ListDecisions(r.Context(), dq)
	if err != nil {
		return nil, fmt.Errorf("list decisions of %s: %w", svc, err)
	}
	var body decisionsBody
	body.Decisions, body.Next = cutPage(ds, limit, decisionCursor)
	return body, nil
}

// --- shadow mode ---

func (a *API) shadow(r *http.Request) (any, error) {
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	if err := onlyParams(q, "days"); err != nil {
		return nil, err
	}
	days, err := parseCount(q, "days", DefaultShadowDays, MaxShadowDays)
	if err != nil {
		return nil, err
	}
	// The newest `days` UTC days, today included: a day without dry-run samples is absent.
	oldest := a.now().UTC().AddDate(0, 0, -(days - 1)).Format(time.DateOnly)
	stored, err := a.store.ListShadowDays(r.Context(), svc, days)
	if err != nil {
		return nil, fmt.Errorf("list shadow days of %s: %w", svc, err)
	}
	body := shadowBody{Service: svc, Days: []scaling.ShadowDay{}}
	for _, d := range stored {
		if d.Day < oldest {
			continue
		}
		body.Days = append(body.Days, d)
		t := &body.Totals
		t.Days++
		t.ObservedSeconds += d.ObservedSeconds
		t.UnderprovisionedReplicaMinutes += d.UnderprovisionedReplicaMinutes
		t.UnderprovisionedReplicaMinutesWithFloors += d.UnderprovisionedReplicaMinutesWithFloors
		t.UnderprovisionedReplicaMinutesSaved += d.UnderprovisionedReplicaMinutesSaved
		t.ExtraReplicaHours += d.ExtraReplicaHours
	}
	return body, nil
}
