package store

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

func weeklyPattern() scaling.Pattern {
	p := scaling.Pattern{Service: "svc-00042", PatternType: scaling.PatternWeekly, Timezone: "Europe/Berlin",
		Source: scaling.SourceDerived, LastUpdated: 1_700_000_000_000}
	for d := range 7 {
		for h := range 24 {
			p.TimeWindows = append(p.TimeWindows, scaling.TimeWindow{DayOfWeek: new(d), HourOfDay: h, ExpectedLoad: float64(h) / 24})
		}
	}
	return p
}

// What json.Marshal writes takes the fast path; anything else falls back to encoding/json
// with the same result, or the same ErrCorrupt.
func TestDecodePattern(t *testing.T) {
	marshal := func(p scaling.Pattern) string {
		data, err := json.Marshal(p)
		require.NoError(t, err)
		return string(data)
	}
	tests := []struct {
		name    string
		data    string
		fast    bool
		wantErr error
	}{
		{name: "weekly", data: marshal(weeklyPattern()), fast: true},
		{name: "daily, no windows", data: marshal(scaling.Pattern{Service: "a", PatternType: scaling.PatternDaily}), fast: true},
		{name: "empty windows", data: marshal(scaling.Pattern{Service: "a", TimeWindows: []scaling.TimeWindow{}}), fast: true},
		{name: "odd floats", data: `{"service":"a","timeWindows":[{"hourOfDay":-0,"expectedLoad":1e-7},{"hourOfDay":3,"expectedLoad":-2.5E+3}]}`, fast: true},
		{name: "white space", data: " {\n\t\"service\" : \"a\" , \"lastUpdated\" : 7 }\r\n", fast: true},
		{name: "escaped string", data: `{"service":"a\u0062"}`},
		{name: "case-folded name", data: `{"Service":"a"}`},
		{name: "unknown field", data: `{"service":"a","extra":1}`},
		{name: "duplicate field", data: `{"service":"a","service":"b"}`},
		{name: "duplicate window field", data: `{"timeWindows":[{"hourOfDay":1,"hourOfDay":2}]}`},
		{name: "null day", data: `{"timeWindows":[{"dayOfWeek":null,"hourOfDay":2}]}`},
		{name: "float hour", data: `{"timeWindows":[{"hourOfDay":1.5}]}`, wantErr: ErrCorrupt},
		{name: "leading zero", data: `{"lastUpdated":01}`, wantErr: ErrCorrupt},
		{name: "trailing data", data: `{"service":"a"}x`, wantErr: ErrCorrupt},
		{name: "truncated", data: `{"service":"a","timeWindows":[{"hourOfDay":1}`, wantErr: ErrCorrupt},
		{name: "overflow", data: `{"lastUpdated":99999999999999999999}`, wantErr: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fast := parsePattern([]byte(tt.data))
			require.Equal(t, tt.fast, fast)
			got, err := decodePattern("pattern of a", []byte(tt.data))
			want, wantErr := decode[scaling.Pattern]("pattern of a", []byte(tt.data))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.ErrorIs(t, wantErr, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, wantErr)
			require.Equal(t, want, got)
		})
	}
}

// Whatever parsePattern accepts, json.Unmarshal reads the same.
func FuzzParsePattern(f *testing.F) {
	data, err := json.Marshal(weeklyPattern())
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte(`{"service":"a","timeWindows":null,"lastUpdated":-1}`))
	f.Add([]byte(`{"timeWindows":[{"hourOfDay":1,"expectedLoad":0.5e3}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := parsePattern(data)
		if !ok {
			return
		}
		var want scaling.Pattern
		require.NoError(t, json.Unmarshal(data, &want), "parsePattern accepted %q", data)
		require.Equal(t, want, got)
	})
}

func BenchmarkDecodePattern(b *testing.B) {
	data, err := json.Marshal(weeklyPattern())
	require.NoError(b, err)
	b.Run("parsePattern", func(b *testing.B) {
		for b.Loop() {
			if _, ok := parsePattern(data); !ok {
				b.Fatal("not parsed")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := decode[scaling.Pattern]("pattern", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
