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
		// Regression tests: a blank reason was accepted while "" was not, and control
		// characters were stored and shown.
		{"reason only spaces", func(o *Override) { o.Reason = "   " }, "reason"},
		{"reason only white space", func(o *Override) { o.Reason = "\t\u00a0\u3000" }, "reason"},
		{"reason with NUL", func(o *Override) { o.Reason = "ctl \u0000" }, "reason"},
		{"reason with a terminal escape", func(o *Override) { o.Reason = "ctl \u001b[31m red" }, "reason"},
		{"reason with a line break", func(o *Override) { o.Reason = "sale\nINFO forged log line" }, "reason"},
		{"reason with a tab", func(o *Override) { o.Reason = "sale\tday" }, "reason"},
		{"reason with DEL", func(o *Override) { o.Reason = "sale\x7f" }, "reason"},
		{"reason with a C1 control", func(o *Override) { o.Reason = "sale\u0085" }, "reason"},
		{"valid: reason with spaces around and non-ASCII", func(o *Override) { o.Reason = " Black Friday — soldes 🛒 " }, ""},
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
