package actuator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMeasurePodStartup(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	// pod is created minutes after t0 and ready startup later.
	pod := func(minutes int, startup time.Duration) PodTimes {
		created := t0.Add(time.Duration(minutes) * time.Minute)
		return PodTimes{Created: created, Ready: created.Add(startup)}
	}
	notReady := pod(50, 0)
	notReady.Ready = time.Time{}
	restarted := pod(51, 10*time.Second)
	restarted.Restarts = 1
	var twentyFive []PodTimes
	for i := range 25 {
		// The five oldest start slowly (an older image); the twenty newest in 30 s.
		startup := 30 * time.Second
		if i < 5 {
			startup = 5 * time.Minute
		}
		twentyFive = append(twentyFive, pod(i, startup))
	}

	tests := []struct {
		name    string
		pods    []PodTimes
		want    PodStartup
		wantErr string
	}{
		{
			name: "the median of three",
			pods: []PodTimes{pod(0, 40*time.Second), pod(1, 90*time.Second), pod(2, 45*time.Second)},
			want: PodStartup{Startup: 45 * time.Second, Pods: 3},
		},
		{
			name: "an even count: the middle two's mean, rounded up to whole seconds",
			pods: []PodTimes{pod(0, 40*time.Second), pod(1, 41*time.Second), pod(2, 50*time.Second), pod(3, time.Minute)},
			want: PodStartup{Startup: 46 * time.Second, Pods: 4},
		},
		{
			name: "pods not ready, restarted, ready before created or an hour after are not start-ups",
			pods: []PodTimes{pod(0, 20*time.Second), pod(1, 25*time.Second), notReady, restarted,
				pod(3, -time.Second), pod(4, 2*time.Hour), pod(5, 30*time.Second)},
			want: PodStartup{Startup: 25 * time.Second, Pods: 3},
		},
		{
			name: "only the twenty newest pods",
			pods: twentyFive,
			want: PodStartup{Startup: 30 * time.Second, Pods: 20},
		},
		{
			name: "ready within a second of creation: one second",
			pods: []PodTimes{pod(0, 0), pod(1, 200*time.Millisecond), pod(2, 0)},
			want: PodStartup{Startup: time.Second, Pods: 3},
		},
		{
			name:    "too few pods",
			pods:    []PodTimes{pod(0, 40*time.Second), notReady, restarted},
			wantErr: "too few pods: 1 of 3 pods ready since their start, need 3",
		},
		{
			name:    "none",
			wantErr: "too few pods: 0 of 0 pods ready since their start, need 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MeasurePodStartup(tt.pods)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				require.ErrorIs(t, err, ErrTooFewPods)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			reversed := make([]PodTimes, len(tt.pods))
			for i, p := range tt.pods {
				reversed[len(tt.pods)-1-i] = p
			}
			again, err := MeasurePodStartup(reversed)
			require.NoError(t, err)
			require.Equal(t, got, again, "the order pods are listed in does not matter")
		})
	}
}
