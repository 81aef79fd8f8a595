package hpasim

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
)

func readTraceDebug(t *testing.T, path string) forecast.Series {
	f, err := os.Open(path)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	recs, _ := csv.NewReader(f).ReadAll()
	var ts []time.Time
	var vs []float64
	for _, r := range recs[1:] {
		tm, _ := time.Parse("2006-01-02 15:04:05", r[0])
		v, _ := strconv.ParseFloat(r[1], 64)
		ts = append(ts, tm)
		vs = append(vs, v)
	}
	step := ts[1].Sub(ts[0])
	s := forecast.Series{Start: ts[0], Step: step, Values: make([]float64, int(ts[len(ts)-1].Sub(ts[0])/step)+1)}
	for i := range s.Values {
		s.Values[i] = -1
	}
	for i, tm := range ts {
		k := int((tm.Sub(ts[0]) + step/2) / step)
		if k < len(s.Values) {
			s.Values[k] = vs[i]
		}
	}
	for i := range s.Values {
		if s.Values[i] < 0 {
			s.Values[i] = s.Values[max(0, i-1)]
		}
	}
	return s
}

func TestDebugCalib(t *testing.T) {
	path := os.Getenv("TRACE")
	if path == "" {
		t.Skip()
	}
	trace := readTraceDebug(t, path)
	o := replayDefaults()
	o.MaxReplicas, o.LeadTime, o.Calibrate = maxDbg(), leadDbg(), true
	o.CapacityPerReplica = percentile(trace.Values, 0.95) / (0.8 * float64(o.MaxReplicas))
	evalFrom := trace.Start.Add(o.Warmup)
	preds, _, err := fitPredictions(t.Context(), discard, o, trace, evalFrom)
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range days() {
		now := evalFrom.Add(time.Duration(day) * 24 * time.Hour)
		var past = preds[:0:0]
		for _, p := range preds {
			if p.FittedAt < now.UnixMilli() {
				past = append(past, p)
			}
		}
		known := min(int(now.Sub(trace.Start)/trace.Step), len(trace.Values))
		r := Calibrate(CalibrationInput{History: forecast.Series{Start: trace.Start, Step: trace.Step, Values: trace.Values[:known]},
			Predictions: past, HPA: Config{MinReplicas: 1, MaxReplicas: o.MaxReplicas, CapacityPerReplica: o.CapacityPerReplica, PodStartup: 2 * time.Minute},
			LeadTime: leadDbg(), Now: now})
		fmt.Printf("day %d reactive upRM %.0f RH %.0f: %s\n", day, r.Reactive.UnderProvisionedReplicaMinutes, r.Reactive.ReplicaHours, r.Reason)
		for _, s := range r.Scores {
			red, inc := gains(r.Reactive, s.Summary)
			fmt.Printf("   %-40s red %5.1f%% inc %+5.1f%%\n", SettingsString(s.Settings), red*100, inc*100)
		}
	}
}

func leadDbg() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LEAD")); err == nil {
		return d
	}
	return 5 * time.Minute
}

func maxDbg() int32 {
	if os.Getenv("MAX") == "20" {
		return 20
	}
	return 50
}

func days() []int {
	if os.Getenv("DAYS") == "0" {
		return []int{0}
	}
	return []int{3, 10, 20, 30}
}
