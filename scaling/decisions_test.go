package scaling

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOverrideValidate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	valid := func() Override {
		return Override{Service: "checkout", Start: now.Add(24 * time.Hour), End: now.Add(30 * time.Hour),
			MinReplicas: i32p(12), Reason: "black friday"}
	}
	tests := []struct {
		name      string
		mutate    func(o *Override)
		wantField string // "" means valid
	}{
		{"valid minReplicas", func(o *Override) {}, ""},
		{"valid expectedLoad", func(o *Override) { o.MinReplicas, o.ExpectedLoad = nil, f64p(0.8) }, ""},
		{"valid: started already, ends later", func(o *Override) { o.Start = now.Add(-time.Hour) }, ""},
		{"valid: ends exactly one year ahead", func(o *Override) { o.End = now.Add(MaxOverrideAhead) }, ""},
		{"valid: reason at the bound", func(o *Override) { o.Reason = strings.Repeat("é", MaxReasonLength) }, ""},
		{"bad service", func(o *Override) { o.Service = "Checkout" }, "service"},
		{"no start", func(o *Override) { o.Start = time.Time{} }, "start"},
		{"no end", func(o *Override) { o.End = time.Time{} }, "end"},
		{"end equals start", func(o *Override) { o.End = o.Start }, "end"},
		{"end before start", func(o *Override) { o.End = o.Start.Add(-time.Minute) }, "end"},
		{"ended already", func(o *Override) { o.Start, o.End = now.Add(-2*time.Hour), now }, "end"},
		{"more than a year ahead", func(o *Override) { o.End = now.Add(MaxOverrideAhead + time.Second) }, "end"},
		{"neither minReplicas nor expectedLoad", func(o *Override) { o.MinReplicas = nil }, "minReplicas"},
		{"both", func(o *Override) { o.ExpectedLoad = f64p(0.5) }, "expectedLoad"},
		{"minReplicas zero", func(o *Override) { o.MinReplicas = i32p(0) }, "minReplicas"},
		{"minReplicas negative", func(o *Override) { o.MinReplicas = i32p(-3) }, "minReplicas"},
		{"minReplicas above cap", func(o *Override) { o.MinReplicas = i32p(MaxOverrideReplicas + 1) }, "minReplicas"},
		{"expectedLoad zero", func(o *Override) { o.MinReplicas, o.ExpectedLoad = nil, f64p(0) }, "expectedLoad"},
		{"expectedLoad above 1", func(o *Override) { o.MinReplicas, o.ExpectedLoad = nil, f64p(1.01) }, "expectedLoad"},
		{"expectedLoad NaN", func(o *Override) { o.MinReplicas, o.ExpectedLoad = nil, f64p(math.NaN()) }, "expectedLoad"},
		{"no reason", func(o *Override) { o.Reason = "" }, "reason"},
		{"reason too long", func(o *Override) { o.Reason = strings.Repeat("x", MaxReasonLength+1) }, "reason"},
		{"reason not UTF-8", func(o *Override) { o.Reason = "sale \xff" }, "reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.mutate(&o)
			err := o.Validate(now)
			if tc.wantField == "" {
				require.NoError(t, err)
				return
			}
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.wantField, fe.Field, "error: %v", err)
		})
	}
}

func TestOverrideActiveAt(t *testing.T) {
	start := time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)
	o := Override{Start: start, End: start.Add(2 * time.Hour)}
	tests := []struct {
		name string
		at   time.Time
		lead time.Duration
		want bool
	}{
		{"before the lead time", start.Add(-6 * time.Minute), 5 * time.Minute, false},
		{"at start minus lead", start.Add(-5 * time.Minute), 5 * time.Minute, true},
		{"without lead, just before start", start.Add(-time.Second), 0, false},
		{"during", start.Add(time.Hour), 5 * time.Minute, true},
		{"at end", start.Add(2 * time.Hour), 5 * time.Minute, false},
		{"negative lead is none", start.Add(-time.Second), -time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, o.ActiveAt(tc.at, tc.lead))
		})
	}
}
