package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Fuzz tests of the JSON request decoders (issue 11). "make test" runs their seeds (the f.Add
// calls and testdata/fuzz/<name>); "make fuzz" explores each for FUZZTIME.

// checkDecoder is the contract of decodeStrict for one request type: it never panics; a
// refusal is a 400 naming a field; what it accepts, encoding/json decodes the same way, and
// re-encoding it is accepted again with the same value (nothing strict reads differently).
func checkDecoder[T any](t *testing.T, data []byte) {
	var got T
	err := decodeStrict(data, &got)
	if err != nil {
		status, body := classify(err)
		require.Equal(t, http.StatusBadRequest, status, "%v", err)
		require.NotEmpty(t, body.Field, "%v", err)
		require.NotEmpty(t, body.Error)
		return
	}
	var lenient T
	require.NoError(t, json.Unmarshal(data, &lenient), "strict accepted what encoding/json refuses")
	require.Equal(t, lenient, got)
	again, err := json.Marshal(got)
	require.NoError(t, err)
	var round T
	require.NoError(t, decodeStrict(again, &round), "re-encoded %s", again)
	require.Equal(t, got, round)
}

var decoderSeeds = []string{
	``, `{}`, `[]`, `null`, `{"a":1}`, `{} {}`, `{"x":[null]}`, `{"x":{"y":[1,2,{"z":null}]}}`,
	`{"patternType":"daily","timeWindows":[{"hourOfDay":9,"expectedLoad":0.5}]}`,
	`{"patternType":"weekly","timeWindows":[{"dayOfWeek":1,"hourOfDay":9,"expectedLoad":0.8}],"timezone":"Europe/Paris"}`,
	`{"hourOfDay":9,"HOUROFDAY":23}`, `{"patternType":"daily","patternType":"weekly"}`, `{"timeWindows":[null]}`,
	`{"dependencyType":"fixed","replicas":2147483647,"enabled":true}`, `{"dependencyType":"proportional","ratio":0.5}`,
	`{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"x"}`,
	`{"replicas":1e400}`, `{"ratio":-0}`, `{"lastUpdated":9223372036854775808}`, "{\"service\":\"\xff\"}",
}

func FuzzDecodePatternRequest(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoder[patternRequest](t, data) })
}

func FuzzDecodeDependencyRequest(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoder[dependencyRequest](t, data) })
}

func FuzzDecodeOverrideRequest(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoder[overrideRequest](t, data) })
}

// FuzzDecodeEmptyObject covers the bodyless POSTs (enable, disable, forecast): only {} passes.
func FuzzDecodeEmptyObject(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoder[struct{}](t, data) })
}

// FuzzPostPattern sends the body through the whole handler: never a 5xx, every refusal names
// a field and leaves the store alone, and what is stored validates (a null window once stored
// hour 0, load 0).
func FuzzPostPattern(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newMemStore()
		ts := newTestServer(t, st, nil)
		rec := ts.do(t, request{method: "POST", path: "/api/predictive-scaling/patterns/search", body: string(data)})
		ps, err := st.ListPatterns(context.Background())
		require.NoError(t, err)
		if rec.Code != http.StatusOK {
			require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, rec.Code, "body: %s", rec.Body)
			require.NotEmpty(t, decodeErr(t, rec).Field)
			require.Empty(t, ps)
			return
		}
		require.Len(t, ps, 1)
		require.NoError(t, ps[0].Validate())
	})
}
