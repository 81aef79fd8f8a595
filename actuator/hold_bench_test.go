package actuator

import (
	"testing"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// BenchmarkPredictionContributions is one service's prediction in one planning round: a day
// ahead at 5 minutes, with the bound held throughout, without a hold and with an hour's
// (HeldFloor reads 121 rounds). The planner pays this per service with a prediction, every round.
func BenchmarkPredictionContributions(b *testing.B) {
	means := make([]float64, 288)
	uppers := make([]float64, 288)
	for i := range means {
		means[i] = 900 + float64(i%7)*20
		uppers[i] = means[i] * 1.2
	}
	p := forecastPoints("api", monday, 5*time.Minute, means, uppers)
	p.ValidUntil = monday.Add(2 * time.Hour).UnixMilli()
	now := monday.Add(30 * time.Minute)
	for _, hold := range []time.Duration{0, time.Hour} {
		b.Run("hold="+hold.String(), func(b *testing.B) {
			p := p
			p.Calibration = &scaling.Calibration{Reason: "bench", FloorSettings: scaling.FloorSettings{BoundShare: ratio(2), LeadSeconds: 300,
				NoiseMarginReplicas: 3, SmoothingPoints: 5, Interpolate: true, BoundThroughout: true, HoldSeconds: int64(hold / time.Second)}}
			for b.Loop() {
				if c := predictionContributions(p, svc("api", 5*time.Minute), now, 50); len(c) == 0 {
					b.Fatal("no contribution")
				}
			}
		})
	}
}
