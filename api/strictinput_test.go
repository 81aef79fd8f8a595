package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Regression tests for a tester's report on input handling: query parameters given empty
// ("limit=", "next=") were read as absent and numbers with a sign or a leading zero
// ("limit=+5", "limit=05") were accepted; Content-Type application/json with another charset,
// or another +json type, was accepted; a body that is not UTF-8, or a string holding an
// unpaired UTF-16 surrogate escape, was stored with U+FFFD in place of what was sent.

const strictOverridePath = "/api/predictive-scaling/overrides/checkout"

// strictOverride is a valid override body whose reason is the JSON text reason, unquoted.
func strictOverride(reason string) string {
	return `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"` + reason + `"}`
}

// strictCase is one request and its answer: a status, and for a refusal the field named and
// a fragment of the message (wantMsg, "" to skip).
type strictCase struct {
	name      string
	req       request
	wantCode  int
	wantField string
	wantMsg   string
}

func runStrictCases(t *testing.T, cases []strictCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			seed(t, st)
			seedRecords(t, st)
			ts := newTestServer(t, st, nil)
			before := takeSnapshot(t, st)
			rec := ts.do(t, tt.req)
			require.Equal(t, tt.wantCode, rec.Code, "body: %s", rec.Body)
			if tt.wantCode < 400 {
				return
			}
			e := decodeErr(t, rec)
			require.Equal(t, tt.wantField, e.Field, "error: %s", e.Error)
			require.Contains(t, e.Error, tt.wantMsg)
			require.Equal(t, before, takeSnapshot(t, st), "a refused request changed the store")
			validateResponse(t, tt.req, rec)
		})
	}
}

func TestStrictQueryParams(t *testing.T) {
	get := func(path string) request { return request{method: http.MethodGet, path: path} }
	const (
		events   = "/api/hpa-events"
		patterns = "/api/predictive-scaling/patterns"
		floors   = "/api/predictive-scaling/floors/checkout"
		load     = "/api/predictive-scaling/load/checkout"
		shadow   = "/api/predictive-scaling/shadow/checkout"
		notPlain = "(no sign, no leading zero)"

		effectiveness = events + "/coordinator/effectiveness"
	)
	runStrictCases(t, []strictCase{
		// limit: present, it is a plain decimal from 1 to MaxListLimit.
		{"limit empty", get(events + "?limit="), 400, "limit", "limit: empty"},
		{"limit without =", get(events + "?limit"), 400, "limit", "limit: empty"},
		{"limit empty on a paged list", get(patterns + "?limit="), 400, "limit", "limit: empty"},
		{"limit empty on runs", get("/api/predictive-scaling/runs?limit="), 400, "limit", "limit: empty"},
		{"limit empty on predictions", get("/api/predictive-scaling/predictions?limit="), 400, "limit", "limit: empty"},
		{"limit empty on floors", get(floors + "?limit="), 400, "limit", "limit: empty"},
		{"limit empty on overrides", get(overridesPath + "?limit="), 400, "limit", "limit: empty"},
		{"limit plus sign", get(events + "?limit=%2B5"), 400, "limit", notPlain},
		{"limit plus sign unescaped", get(events + "?limit=+5"), 400, "limit", notPlain}, // a query's + is a space
		{"limit leading zero", get(events + "?limit=05"), 400, "limit", notPlain},
		{"limit leading zero on a paged list", get(patterns + "?limit=010"), 400, "limit", notPlain},
		{"limit zero zero", get(events + "?limit=00"), 400, "limit", notPlain},
		{"limit minus zero", get(events + "?limit=-0"), 400, "limit", notPlain},
		{"limit exponent", get(events + "?limit=1e2"), 400, "limit", notPlain},
		{"limit hex", get(events + "?limit=0x10"), 400, "limit", notPlain},
		{"limit trailing space", get(events + "?limit=5%20"), 400, "limit", notPlain},
		{"limit overflow", get(events + "?limit=99999999999999999999"), 400, "limit", notPlain},
		{"limit 1", get(events + "?limit=1"), 200, "", ""},
		{"limit 10", get(patterns + "?limit=10"), 200, "", ""},
		{"limit at most", get(events + "?limit=1000"), 200, "", ""},

		// next: an empty cursor is not the first page.
		{"next empty on patterns", get(patterns + "?next="), 400, "next", "next: empty"},
		{"next empty on dependencies", get("/api/scaling-dependencies?next="), 400, "next", "next: empty"},
		{"next empty on overrides", get(overridesPath + "?limit=1&next="), 400, "next", "next: empty"},

		// since and until: Unix milliseconds as a plain decimal, or RFC 3339.
		{"since empty on events", get(events + "?since="), 400, "since", "since: empty"},
		{"since empty on floors", get(floors + "?since="), 400, "since", "since: empty"},
		{"since empty on load", get(load + "?since="), 400, "since", "since: empty"},
		{"until empty", get(load + "?until="), 400, "until", "until: empty"},
		{"since plus sign", get(events + "?since=%2B1764244800000"), 400, "since", "Unix milliseconds"},
		{"since leading zero", get(floors + "?since=01764244800000"), 400, "since", "Unix milliseconds"},
		{"until plus sign", get(load + "?until=%2B1764244800000"), 400, "until", "Unix milliseconds"},
		{"since negative", get(events + "?since=-5"), 400, "since", "must not be negative"},
		{"since before 1970", get(events + "?since=0000-01-01T00:00:00Z"), 400, "since", "must not be before 1970"},
		{"until before 1970", get(load + "?until=1969-12-31T23:59:59Z"), 400, "until", "must not be before 1970"},
		{"since 0", get(events + "?since=0"), 200, "", ""},
		{"since Unix ms", get(floors + "?since=1764244680000"), 200, "", ""},
		{"since RFC 3339", get(events + "?since=2026-11-27T11:30:00Z"), 200, "", ""},

		// The other parameters: empty is never the default.
		{"days empty", get(shadow + "?days="), 400, "days", "days: empty"},
		{"days leading zero", get(shadow + "?days=02"), 400, "days", notPlain},
		{"days plus sign", get(shadow + "?days=%2B2"), 400, "days", notPlain},
		{"days 2", get(shadow + "?days=2"), 200, "", ""},
		{"step empty", get(load + "?step="), 400, "step", "step: empty"},
		{"window empty", get(events + "/coordinator/effectiveness?window="), 400, "window", "window: empty"},
		// window and step: time.ParseDuration takes a sign, which no span or step means.
		{"window plus sign", get(effectiveness + "?window=%2B72h"), 400, "window", `window: must be a duration such as 24h or 90m (no sign), got "+72h"`},
		{"window plus sign unescaped", get(effectiveness + "?window=+72h"), 400, "window", `got " 72h"`}, // a query's + is a space
		{"window negative", get(effectiveness + "?window=-72h"), 400, "window", `window: must be a duration such as 24h or 90m (no sign), got "-72h"`},
		{"window minus zero", get(effectiveness + "?window=-0"), 400, "window", "(no sign)"},
		{"window 72h", get(effectiveness + "?window=72h"), 200, "", ""},
		{"step plus sign", get(load + "?step=%2B30m"), 400, "step", `step: must be a duration such as 5m (no sign), got "+30m"`},
		{"step negative", get(load + "?step=-30m"), 400, "step", `step: must be a duration such as 5m (no sign), got "-30m"`},
		{"points empty", get("/api/predictive-scaling/predictions?points="), 400, "points", "points: empty"},
		{"service empty", get("/api/predictive-scaling/predictions?service="), 400, "service", "service: empty"},
		{"type empty", get(events + "?type="), 400, "type", "type: empty"},
		{"type empty among others", get(events + "?type=scale-up&type="), 400, "type", "type: empty"},
	})
}

func TestStrictContentType(t *testing.T) {
	const pat = "/api/predictive-scaling/patterns/search"
	const body = `{"patternType":"daily","timeWindows":[]}`
	post := func(path, body, ct string) request {
		return request{method: http.MethodPost, path: path, body: body, header: map[string]string{"Content-Type": ct}}
	}
	const accepted = "application/json, optionally with charset=utf-8"
	runStrictCases(t, []strictCase{
		{"charset latin1", post(pat, body, "application/json; charset=latin1"), 415, "Content-Type", accepted},
		{"charset iso-8859-1", post(pat, body, "application/json;charset=ISO-8859-1"), 415, "Content-Type", accepted},
		{"charset utf-16", post(pat, body, "application/json; charset=utf-16"), 415, "Content-Type", accepted},
		{"charset empty", post(pat, body, "application/json; charset="), 415, "Content-Type", accepted},
		{"merge-patch", post(pat, body, "application/merge-patch+json"), 415, "Content-Type", `got "application/merge-patch+json"`},
		{"another +json type", post(pat, body, "application/vnd.api+json"), 415, "Content-Type", accepted},
		{"another parameter", post(pat, body, "application/json; profile=x"), 415, "Content-Type", accepted},
		{"utf-8 and another parameter", post(pat, body, "application/json; charset=utf-8; v=2"), 415, "Content-Type", accepted},
		{"parameter without value", post(pat, body, "application/json; utf-8"), 415, "Content-Type", accepted},
		{"two types", post(pat, body, "application/json, text/plain"), 415, "Content-Type", accepted},
		{"text/json", post(pat, body, "text/json"), 415, "Content-Type", accepted},
		{"given twice", request{method: http.MethodPost, path: pat, body: body, added: http.Header{"Content-Type": {"text/plain"}}}, 415, "Content-Type", "given 2 times"},
		{"given twice, both JSON", request{method: http.MethodPost, path: pat, body: body, added: http.Header{"Content-Type": {"application/json"}}}, 415, "Content-Type", "given 2 times"},
		{"bodyless POST as merge-patch", post("/api/scaling-dependencies/coordinator/mobile-optimization/enable", "", "application/merge-patch+json"), 415, "Content-Type", accepted},
		{"bodyless POST with latin1", post("/api/predictive-scaling/forecast", "", "application/json; charset=latin1"), 415, "Content-Type", accepted},

		{"plain", post(pat, body, "application/json"), 200, "", ""},
		{"upper case", post(pat, body, "Application/JSON"), 200, "", ""},
		{"charset utf-8", post(pat, body, "application/json; charset=utf-8"), 200, "", ""},
		{"charset UTF-8 without space", post(pat, body, "application/json;charset=UTF-8"), 200, "", ""},
		{"charset quoted", post(pat, body, `application/json; charset="utf-8"`), 200, "", ""},
		{"charset utf8", post(pat, body, "application/json; Charset=UTF8"), 200, "", ""},
	})
}

func TestStrictBodyEncoding(t *testing.T) {
	post := func(body string) request {
		return request{method: http.MethodPost, path: strictOverridePath, body: body}
	}
	// The reason starts at byte 87 of the body (bytes count from 0).
	require.Equal(t, 87, strings.Index(strictOverride("x"), `"x"`)+1)
	runStrictCases(t, []strictCase{
		{"Latin-1 byte", post(strictOverride("caf\xe9")), 400, "body", "body: not valid UTF-8 at byte 90"},
		{"truncated sequence", post(strictOverride("\xe2\x82")), 400, "body", "body: not valid UTF-8 at byte 87"},
		{"encoded surrogate", post(strictOverride("\xed\xa0\x80")), 400, "body", "body: not valid UTF-8 at byte 87"},
		{"invalid byte outside a string", post("{\xff}"), 400, "body", "body: not valid UTF-8 at byte 1"},
		{"byte order mark", post("\xef\xbb\xbf" + strictOverride("x")), 400, "body", "byte order mark"},
		{"high surrogate alone", post(strictOverride(`\ud800`)), 400, "reason", `reason: unpaired UTF-16 surrogate \ud800 at byte 87`},
		{"low surrogate alone", post(strictOverride(`\udc00x`)), 400, "reason", `unpaired UTF-16 surrogate \udc00`},
		{"upper-case escape", post(strictOverride(`ok \uD800`)), 400, "reason", `unpaired UTF-16 surrogate \uD800 at byte 90`},
		{"high surrogate then a letter", post(strictOverride(`\ud800\u0041`)), 400, "reason", `\ud800`},
		{"two high surrogates", post(strictOverride(`\ud83d\ud83d`)), 400, "reason", `\ud83d at byte 87`},
		{"low then high", post(strictOverride(`\ude00\ud83d`)), 400, "reason", `\ude00`},
		{"pair then a lone low", post(strictOverride(`\ud83d\ude00\ude00`)), 400, "reason", `\ude00 at byte 99`},
		{"after an escaped backslash", post(strictOverride(`\\\ud800`)), 400, "reason", `\ud800 at byte 89`},
		{"in a key", post(`{"\ud800":1}`), 400, "body", `body: unpaired UTF-16 surrogate`},

		{"surrogate pair", post(strictOverride(`\ud83d\ude00`)), 201, "", ""},
		{"escaped backslash before u", post(strictOverride(`\\ud800`)), 201, "", ""},
		{"replacement character escaped", post(strictOverride(`\ufffd`)), 201, "", ""},
		{"replacement character sent", post(strictOverride("\uFFFD")), 201, "", ""},
		{"replacement character and a pair", post(strictOverride(`\ufffd \uD83D\uDE00`)), 201, "", ""},
	})
}

// TestStrictBodyStored: what an accepted body says is what is stored, escapes and all.
func TestStrictBodyStored(t *testing.T) {
	for _, tt := range []struct{ sent, want string }{
		{`\ud83d\ude00`, "\U0001F600"},
		{`\\ud800`, `\ud800`},
		{`\ufffd`, "\uFFFD"},
		{"caf\u00e9", "café"},
	} {
		t.Run(tt.sent, func(t *testing.T) {
			var req overrideRequest
			require.NoError(t, decodeStrict([]byte(strictOverride(tt.sent)), &req))
			require.Equal(t, tt.want, req.Reason)
		})
	}
}

// TestStrictDecoderPaths: an unpaired surrogate is named where it is, at any depth.
func TestStrictDecoderPaths(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		into      any
		wantField string
	}{
		{"top-level key", `{"\udc00":1}`, &patternRequest{}, "body"},
		{"nested key", `{"timeWindows":[{"hourOfDay":1},{"\ud800":1}]}`, &patternRequest{}, "timeWindows[1]"},
		{"value", `{"timezone":"Europe/\ud800"}`, &patternRequest{}, "timezone"},
		{"array of any", `{"x":["ok","\udbff"]}`, &map[string]any{}, "x[1]"},
		{"a string for a body", `"\ud800"`, &patternRequest{}, "body"},
		{"trailing string", `{} "\ud800"`, &patternRequest{}, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := classify(decodeStrict([]byte(tt.body), tt.into))
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, tt.wantField, body.Field, "%s", body.Error)
		})
	}
}
