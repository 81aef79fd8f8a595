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
