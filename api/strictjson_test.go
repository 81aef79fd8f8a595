package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string // "-": no error
	}{
		{"exact keys", `{"patternType":"daily","timeWindows":[{"hourOfDay":9,"expectedLoad":0.5}]}`, "-"},
		{"null member leaves the field unset", `{"patternType":"daily","timezone":null,"timeWindows":[]}`, "-"},
		{"case-folded key", `{"patterntype":"daily"}`, "patterntype"},
		{"case-folded nested key", `{"timeWindows":[{"HourOfDay":9}]}`, "timeWindows[0].HourOfDay"},
		{"duplicate key", `{"timezone":"UTC","timezone":"Europe/Paris"}`, "timezone"},
		{"duplicate nested key", `{"timeWindows":[{},{"expectedLoad":1,"expectedLoad":0}]}`, "timeWindows[1].expectedLoad"},
		{"null in array", `{"timeWindows":[{},null]}`, "timeWindows[1]"},
		{"string for integer", `{"timeWindows":[{"hourOfDay":"9"}]}`, "timeWindows[0].hourOfDay"},
		{"fraction for integer", `{"timeWindows":[{"dayOfWeek":1.5}]}`, "timeWindows[0].dayOfWeek"},
		{"exponent for integer", `{"timeWindows":[{"hourOfDay":1e1}]}`, "timeWindows[0].hourOfDay"},
		{"object for string", `{"patternType":{}}`, "patternType"},
		{"array for object", `{"timeWindows":[[1]]}`, "timeWindows[0]"},
		{"bool for number", `{"timeWindows":[{"expectedLoad":true}]}`, "timeWindows[0].expectedLoad"},
		{"lastUpdated overflow", `{"lastUpdated":1e30}`, "lastUpdated"},
		{"not an object", `[]`, "body"},
		{"trailing data", `{} {}`, "body"},
		{"truncated", `{"timeWindows":[{"hourOfDay":9`, "body"},
		{"empty", ``, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req patternRequest
			err := decodeStrict([]byte(tt.body), &req)
			if tt.wantField == "-" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			status, body := classify(err)
			require.Equal(t, 400, status, "%v", err)
			require.Equal(t, tt.wantField, body.Field, "%v", err)
		})
	}
}

func TestDecodeStrictOverflowInt32(t *testing.T) {
	var req dependencyRequest
	err := decodeStrict([]byte(`{"replicas":2147483648}`), &req)
	_, body := classify(err)
	require.Equal(t, "replicas", body.Field)
	require.NoError(t, decodeStrict([]byte(`{"replicas":2147483647,"ratio":-1.5e3}`), &req))
	require.Equal(t, int32(2147483647), *req.Replicas)
	require.Equal(t, -1500.0, *req.Ratio)
}

// Regression test: a number beyond the range of its float field was refused by encoding/json,
// whose error named the field without its index and said "must be a number, got number".
func TestDecodeStrictFloatOutOfRange(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		into      any
		wantField string
		wantMsg   string
	}{
		{"pattern load below -MaxFloat64", `{"timeWindows":[{"hourOfDay":1,"expectedLoad":0.5},{"hourOfDay":2,"expectedLoad":-1e400}]}`, &patternRequest{},
			"timeWindows[1].expectedLoad", "timeWindows[1].expectedLoad: out of range of a 64-bit floating-point number, got -1e400"},
		{"pattern load above MaxFloat64", `{"timeWindows":[{"expectedLoad":1.8e308}]}`, &patternRequest{},
			"timeWindows[0].expectedLoad", "timeWindows[0].expectedLoad: out of range of a 64-bit floating-point number, got 1.8e308"},
		{"dependency ratio", `{"ratio":1e999}`, &dependencyRequest{},
			"ratio", "ratio: out of range of a 64-bit floating-point number, got 1e999"},
		{"override expectedLoad", `{"expectedLoad":-1E+400}`, &overrideRequest{},
			"expectedLoad", "expectedLoad: out of range of a 64-bit floating-point number, got -1E+400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := classify(decodeStrict([]byte(tt.body), tt.into))
			require.Equal(t, 400, status)
			require.Equal(t, errorBody{Error: tt.wantMsg, Field: tt.wantField}, body)
		})
	}
	var req patternRequest
	require.NoError(t, decodeStrict([]byte(`{"timeWindows":[{"hourOfDay":1,"expectedLoad":1e-400}]}`), &req), "underflow is 0, as encoding/json reads it")
	require.Zero(t, *req.TimeWindows[0].ExpectedLoad)
}
