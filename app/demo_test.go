package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDemoStart(t *testing.T) {
	now := time.Date(2026, 11, 30, 6, 30, 0, 0, time.UTC)
	tests := []struct {
		name   string
		newest time.Time
		want   time.Time
	}{
		{name: "no previous records", want: now},
		{name: "records behind the wall clock", newest: now.Add(-time.Hour), want: now},
		{name: "records ahead: resume a minute after the newest", newest: now.Add(11*time.Hour + 30*time.Second), want: now.Add(11*time.Hour + time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, demoStart(now, tt.newest))
		})
	}
}
