package api

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// Regression test for issue 9: encoding/json refuses NaN and ±Inf, so a record holding one
// (the forecaster never stores one, but a store written by other code might) is answered with
// a 500 and the error body, never with a NaN or a half-written body.
func TestNonFiniteValueIsAnInternalError(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1)} {
		st := newMemStore()
		require.NoError(t, st.AddPrediction(t.Context(), scaling.Prediction{
			Service: "checkout", FittedAt: testNow.UnixMilli(), ValidUntil: testNow.UnixMilli() + 1,
			Points: []scaling.PredictionPoint{{Timestamp: testNow.UnixMilli(), ExpectedLoad: 1, UpperLoad: v}},
		}))
		ts := newTestServer(t, st, nil)
		rec := ts.do(t, request{method: http.MethodGet, path: "/api/predictive-scaling/predictions?service=checkout"})
		require.Equal(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
		var body errorBody
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.Equal(t, "internal error", body.Error)
		require.NotContains(t, strings.ToLower(rec.Body.String()), "nan")
		require.NotContains(t, strings.ToLower(rec.Body.String()), "inf")
	}
}
