package redisha

import (
	"testing"
	"time"
)

// The two-leaders check must catch what a lost lease looks like, and must not fire on a
// clean hand-over or on one owner's own overlapping renewals.
func TestOverlaps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		name    string
		beliefs []Belief
		want    int
	}{
		{"one owner renewing", []Belief{{"a", at(0), at(4000)}, {"a", at(400), at(4400)}, {"a", at(800), at(4800)}}, 0},
		{"hand-over after expiry", []Belief{{"a", at(0), at(4000)}, {"b", at(4000), at(8000)}}, 0},
		{"lease lost on failover: b takes it while a still believes", []Belief{{"a", at(0), at(4000)}, {"a", at(400), at(4400)}, {"b", at(3000), at(7000)}}, 2},
		{"b inside a", []Belief{{"a", at(0), at(4000)}, {"b", at(1000), at(1001)}}, 1},
		{"empty", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Overlaps(tc.beliefs); len(got) != tc.want {
				t.Fatalf("Overlaps found %d, want %d: %q", len(got), tc.want, got)
			}
		})
	}
}
