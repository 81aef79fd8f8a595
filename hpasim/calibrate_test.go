package hpasim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

// hourlyForecasts are the forecasts a live forecaster would have made every hour over the last
// days before now, 6 hours ahead at the trace's step: expected(t) as the expected load and
// upper times it as the bound.
func hourlyForecasts(trace forecast.Series, now time.Time, days int, expected func(time.Time) float64, upper float64) []scaling.Prediction {
	var preds []scaling.Prediction
	for at := now.Add(-time.Duration(days) * 24 * time.Hour); at.Before(now); at = at.Add(time.Hour) {
		p := scaling.Prediction{Service: "svc", Model: "test", Quantile: 0.9, FittedAt: at.UnixMilli(),
			ValidUntil: at.Add(2 * time.Hour).UnixMilli(), StepSeconds: int64(trace.Step / time.Second)}
		for t := at.Add(trace.Step); t.Before(at.Add(6 * time.Hour)); t = t.Add(trace.Step) {
			e := expected(t)
			p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: t.UnixMilli(), ExpectedLoad: e, UpperLoad: e * upper})
		}
		preds = append(preds, p)
	}
	return preds
}

// surprises is a flat, steady load with spikes at random times that no forecast sees coming.
// (Noise on the flat load would be a shortfall a floor above the expected load removes: see
// "noise on plateaus" in TestCalibrate.)
func surprises(start time.Time, days int) forecast.Series {
	rng := rand.New(rand.NewPCG(3, 3))
	s := forecast.Series{Start: start, Step: 5 * time.Minute, Values: make([]float64, days*288)}
	for i := range s.Values {
		s.Values[i] = 300
	}
	for range days * 3 {
		at := rng.IntN(len(s.Values) - 6)
		for k := range 6 {
			s.Values[at+k] = 900
		}
	}
	return s
}

// buildingSurges is a flat per-minute load with surges at random times that build over ten
// minutes to three times the load, hold for twenty and fade: no forecast sees them coming,
// but each is seen while it builds.
func buildingSurges(start time.Time, days int) forecast.Series {
	rng := rand.New(rand.NewPCG(5, 5))
	s := forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, days*1440)}
	for i := range s.Values {
		s.Values[i] = 300
	}
	for range days * 4 {
		at := rng.IntN(len(s.Values) - 40)
		for k := range 40 {
			v := 900.0
			switch {
			case k < 10:
				v = 300 + 60*float64(k+1)
			case k >= 30:
				v = 900 - 60*float64(k-29)
			}
			s.Values[at+k] = max(s.Values[at+k], v)
		}
	}
	return s
}

func TestCalibrate(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	ramps := DefaultRamps(start)
	ramps.Days = 15
	rampTrace := GenerateRamps(ramps)
	noise := surprises(start, 15)
	surges := buildingSurges(start, 15)
	// The same ramps with news spikes far beyond what max replicas carry: most of the reactive
	// shortfall is above max, where no floor reaches.
	spiky := GenerateRamps(ramps)
	for i := 100; i < len(spiky.Values); i += 577 {
		for k := range 3 {
			spiky.Values[i+k] = 40000
		}
	}
	// Slow ramps to noisy plateaus: the HPA follows the ramps itself, and what it leaves short
	// is the noise within its tolerance, which only a floor above the expected load covers.
	slow := DefaultRamps(start)
	slow.Days, slow.RampLength, slow.Noise = 15, 3*time.Hour, 0.08
	plateaus := GenerateRamps(slow)
	slow.Noise = 0
	plateauShape := GenerateRamps(slow)
	// The noisy plateaus sampled every 15 s, their noise in bursts between whole minutes: the
	// HPA, syncing every 15 s, is left short by them, but a replay a minute apart would read
	// the steady shape alone.
	fine := forecast.Series{Start: start, Step: 15 * time.Second, Values: make([]float64, 15*24*240)}
	burst := rand.New(rand.NewPCG(9, 9))
	for i := range fine.Values {
		fine.Values[i] = LoadAt(plateauShape, start.Add(time.Duration(i)*fine.Step))
		if i%4 != 0 {
			fine.Values[i] *= 1 + 0.08*burst.NormFloat64()
		}
	}
	now := start.Add(14 * 24 * time.Hour)
	// The same ramps at half the load on the window's last day (a migration took half the
	// traffic), which the forecasts, fitted on the weeks before, do not know yet.
	dropped := GenerateRamps(ramps)
	for i := int(now.Add(-24*time.Hour).Sub(start) / dropped.Step); i < len(dropped.Values); i++ {
		dropped.Values[i] /= 2
	}
	hpa := Config{MinReplicas: 1, MaxReplicas: 50, CapacityPerReplica: 30, PodStartup: 2 * time.Minute}
	truth := func(s forecast.Series) func(time.Time) float64 {
		return func(t time.Time) float64 { return LoadAt(s, t) }
	}
	// Both plateau traces are forecast at 5 min, as the forecaster does, from their shape.
	plateauForecasts := hourlyForecasts(plateauShape, now, 7, truth(plateauShape), 1.15)
	// Weekday ramps to noisy plateaus and flat weekends, foreseen exactly, with a bound as wide
	// at night as by day: the window ends on a Sunday (now is a Monday) on which the bound
	// held throughout is a large share of that quiet day's few replicas but a small one of the
	// week's.
	quiet := DefaultRamps(start)
	quiet.Days, quiet.WeekendShare = 15, 0
	weekdays := GenerateRamps(quiet)
	quiet.Noise = 0
	weekdayShape := GenerateRamps(quiet)
	quietForecasts := hourlyForecasts(weekdays, now, 7, truth(weekdayShape), 1)
	for i := range quietForecasts {
		for j := range quietForecasts[i].Points {
			quietForecasts[i].Points[j].UpperLoad += 45
		}
	}
	// A steady per-minute load with 5 % noise, forecast every hour at 5 min with points that
	// wiggle by a few percent, the same at each refit, as a daily profile fitted on the same
	// noisy weeks does: noise of the past, not of the hours ahead, and it crosses a replica
	// boundary at every few points.
	steady := forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, 15*1440)}
	noisy := rand.New(rand.NewPCG(11, 11))
	for i := range steady.Values {
		steady.Values[i] = 315 * (1 + 0.05*noisy.NormFloat64())
	}
	profile := make([]float64, 288)
	for i := range profile {
		profile[i] = 315 * (1 + 0.03*noisy.NormFloat64())
	}
	steadyForecasts := hourlyForecasts(forecast.Series{Start: start, Step: 5 * time.Minute}, now, 7,
		func(t time.Time) float64 { return profile[timeOfDay(t)/(5*time.Minute)] }, 1.08)
	// A job at the top of every hour triples a daily load for ten minutes, foreseen at the
	// forecaster's 5 min step: a floor stepped down by the policy after each peak spends on its
	// descent more than it saves before the peak.
	jobShape := func(t time.Time) float64 {
		level := 200 + 150*math.Sin(2*math.Pi*float64(timeOfDay(t))/float64(24*time.Hour))
		if t.Minute() < 10 {
			return 3 * level
		}
		return level
	}
	jobs := forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, 15*1440)}
	jobNoise := rand.New(rand.NewPCG(17, 17))
	for i := range jobs.Values {
		jobs.Values[i] = jobShape(start.Add(time.Duration(i)*time.Minute)) * (1 + 0.05*jobNoise.NormFloat64())
	}
	jobForecasts := hourlyForecasts(forecast.Series{Start: start, Step: 5 * time.Minute}, now, 7, jobShape, 1.1)
	// A flat load with noise mostly within the HPA's tolerance, and flat forecasts.
	flatNoise := func(step time.Duration, noise float64) forecast.Series {
		s := forecast.Series{Start: start, Step: step, Values: make([]float64, 15*24*time.Hour/step)}
		rng := rand.New(rand.NewPCG(21, 21))
		for i := range s.Values {
			s.Values[i] = 315 * (1 + noise*rng.NormFloat64())
		}
		return s
	}
	flatForecasts := hourlyForecasts(forecast.Series{Start: start, Step: 5 * time.Minute}, now, 7, func(time.Time) float64 { return 315 }, 1.1)
	tests := []struct {
		name string
		in   CalibrationInput
		// wantOff: floors off; wantDefaults: too little history; else a floor removing at
		// least wantReduction.
		wantOff, wantDefaults bool
		// wantCheapest: the availability target is met at no extra cost.
		wantCheapest  bool
		wantReduction float64
		wantReason    string
		// wantThroughout: the floor holds the bound on steady stretches too.
		wantThroughout bool
		// wantSurge: the floor carries the rises of the HPA's metric on (a surge floor).
		wantSurge bool
		// wantUnpaid: some floor removed at least minGain within the budget, but a smaller
		// share of the shortfall than of replica-hours it added, so only that rule refused it.
		wantUnpaid bool
		// wantLastDayRefused: some floor qualified on the window without its costliest day
		// but spent more than the budget on its last day, so only that rule refused it.
		wantLastDayRefused bool
		// wantBeyondMax: at least this share of the reactive replay's shortfall is above max
		// replicas.
		wantBeyondMax float64
		// wantEventsAtMost: the chosen floor's replay scales the HPA at most this many times
		// as often as the reactive replay (0: not checked).
		wantEventsAtMost float64
		// wantAtOnce: the floor comes down at once, not by the step-down policy.
		wantAtOnce bool
	}{
		{
			name:          "a strong daily ramp gets a floor within the budget",
			in:            CalibrationInput{History: rampTrace, Predictions: hourlyForecasts(rampTrace, now, 7, truth(rampTrace), 1.2)},
			wantReduction: 0.5,
			wantReason:    "removes",
		},
		{
			name:           "a quiet last day the forecasts foresaw does not cost Monday its floor",
			in:             CalibrationInput{History: weekdays, Predictions: quietForecasts},
			wantReduction:  0.8,
			wantReason:     "throughout",
			wantThroughout: true,
		},
		{
			name: "spikes beyond max replicas do not hide what a floor removes within them",
			in: CalibrationInput{History: spiky, Predictions: hourlyForecasts(spiky, now, 7,
				truth(rampTrace), 1.2)},
			wantReduction: 0.5,
			wantReason:    "removes",
			wantBeyondMax: 0.9,
		},
		{
			name:          "short jobs at the top of every hour: the floor comes down at once after each",
			in:            CalibrationInput{History: jobs, Predictions: jobForecasts},
			wantReduction: 0.8,
			wantReason:    "down-at-once",
			wantAtOnce:    true,
		},
		{
			name:           "noise on plateaus: the bound held throughout",
			in:             CalibrationInput{History: plateaus, Predictions: plateauForecasts},
			wantReduction:  0.5,
			wantReason:     "throughout",
			wantThroughout: true,
		},
		{
			name:             "a steady load whose forecasts wiggle: the bound held throughout and for an hour, not each wiggle",
			in:               CalibrationInput{History: steady, Predictions: steadyForecasts},
			wantReduction:    0.5,
			wantReason:       "throughout interpolated hold=1h0m0s",
			wantThroughout:   true,
			wantEventsAtMost: 2, // 4 times the reactive replay's without a hold, 9 unsmoothed
		},
		{
			name:           "bursts between the minutes of a 15 s history: replayed at its step, the bound held throughout",
			in:             CalibrationInput{History: fine, Predictions: plateauForecasts},
			wantReduction:  0.5,
			wantReason:     "throughout",
			wantThroughout: true,
		},
		{
			name: "the load fell on the last day: no floor that overspends on it",
			in: CalibrationInput{History: dropped, Predictions: hourlyForecasts(dropped, now, 7,
				truth(rampTrace), 1.2)},
			wantOff:            true,
			wantLastDayRefused: true,
			wantReason:         "within 80% of the 10% budget (up to 90% where its cost was steady day by day; the whole budget on its last day), starting at most 4 times as many pods as the reactive HPA and 2 a day more; floors off, pattern and base only; the forecasts expected more load on the window's last day than came, by ",
		},
		{
			name: "load driven by surprises: floors off",
			in: CalibrationInput{History: noise, Predictions: hourlyForecasts(noise, now, 7,
				func(time.Time) float64 { return 300 }, 1.2)},
			wantOff:    true,
			wantUnpaid: true,
			wantReason: "no less than the share of replica-hours it adds, within 80% of the 10% budget (up to 90% where its cost was steady day by day; the whole budget on its last day), starting at most 4 times as many pods as the reactive HPA and 2 a day more; floors off, pattern and base only",
		},
		{
			name: "surges no forecast sees, seen while they build: a surge floor",
			in: CalibrationInput{History: surges, Surge: true, Predictions: hourlyForecasts(surges, now, 7,
				func(time.Time) float64 { return 300 }, 1.2)},
			wantReduction: 0.5,
			wantReason:    "surge=",
			wantSurge:     true,
		},
		{
			name:          "4 % noise every 5 min, within the HPA's tolerance: a floor starting few pods, not a surge floor answering the noise",
			in:            CalibrationInput{History: flatNoise(5*time.Minute, 0.04), Surge: true, Predictions: flatForecasts},
			wantReduction: 0.5,
			wantReason: "removes 82% of the reactive HPA's under-provisioned replica-minutes within its max replicas at +0.7% replica-hours " +
				"(+0.6% without its costliest day, as the budget is measured); surge=2m0s alone would have removed 97% but started 395 pods " +
				"to the reactive HPA's 38, more than 4 times as many and 2 a day more",
			wantEventsAtMost: 0.25, // the surge floor answering every rise: ten times the reactive replay's events
		},
		{
			// Every day of the week costs the same there, so the bound held throughout may
			// spend up to 90 % of the budget (budgetShare): 99 % of the shortfall at +8.7 %.
			name:           "5 % noise every minute, which the reactive HPA hardly scales for: its steady cost spends more of the budget",
			in:             CalibrationInput{History: flatNoise(time.Minute, 0.05), Surge: true, Predictions: flatForecasts},
			wantReduction:  0.95,
			wantThroughout: true,
			wantReason:     "+8.7% without its costliest day",
		},
		{
			name:       "the same at a 9 % budget, which no steady floor fits: floors off, and the floor passed over named",
			in:         CalibrationInput{History: flatNoise(time.Minute, 0.05), Surge: true, Predictions: flatForecasts, Budget: 0.09},
			wantOff:    true,
			wantReason: "; share=0 lead=2m30s margin=3 smooth=1 interpolated surge=1m0s would have removed 75% but started 499 pods to the reactive HPA's 24, more than 4 times as many and 2 a day more: pods started and stopped again for noise",
		},
		{
			name: "the same surges, and no HPA metric to follow: no surge floor",
			in: CalibrationInput{History: surges, Predictions: hourlyForecasts(surges, now, 7,
				func(time.Time) float64 { return 300 }, 1.2)},
			wantOff:    true,
			wantReason: "floors off",
		},
		{
			name: "a budget nothing fits: floors off",
			in: CalibrationInput{History: rampTrace, Budget: 0.0001,
				Predictions: hourlyForecasts(rampTrace, now, 7, truth(rampTrace), 1.2)},
			wantOff:    true,
			wantReason: "budget",
		},
		{
			name:         "short history: defaults, and says so",
			in:           CalibrationInput{History: rampTrace, Predictions: hourlyForecasts(rampTrace, now, 1, truth(rampTrace), 1.2)},
			wantDefaults: true,
			wantReason:   "history too short to calibrate (1.0 days replayable behind forecasts, need 2.0 days)",
		},
		{
			name:         "no forecasts at all: defaults",
			in:           CalibrationInput{History: rampTrace},
			wantDefaults: true,
			wantReason:   "history too short to calibrate (no forecasts of the last 7.0 days to replay it with yet, need 2.0 days of them)",
		},
		{
			name: "an availability target the reactive HPA meets: nothing dearer than reactive",
			in: CalibrationInput{History: rampTrace, AvailabilityTarget: 0.5,
				Predictions: hourlyForecasts(rampTrace, now, 7, truth(rampTrace), 1.2)},
			wantCheapest: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.HPA, in.Now, in.LeadTime = hpa, now, 5*time.Minute
			got := Calibrate(in)
			require.Contains(t, got.Reason, tt.wantReason)
			require.Equal(t, got, Calibrate(in), "deterministic")
			if tt.wantDefaults {
				require.Equal(t, DefaultSettings(in.LeadTime), got.FloorSettings)
				require.Zero(t, got.WindowMinutes)
				require.Zero(t, got.PodStartupSeconds, "no pods replayed")
				return
			}
			require.Equal(t, int64(hpa.PodStartup/time.Second), got.PodStartupSeconds)
			latest := slices.MaxFunc(in.Predictions, func(a, b scaling.Prediction) int { return cmp.Compare(a.FittedAt, b.FittedAt) })
			cands := Candidates(in.LeadTime, hpa.PodStartup, time.Duration(latest.StepSeconds)*time.Second, in.Surge, DefaultTolerance)
			budget := in.Budget
			if budget <= 0 {
				budget = DefaultBudget
			}
			heldReplayed := slices.ContainsFunc(got.Scores, func(s Score) bool { return s.Settings.HoldSeconds > 0 })
			if got.BoundThroughout {
				require.True(t, heldReplayed, "the bound held throughout won: its held twins were replayed")
			}
			replayed := map[string]Score{}
			for _, s := range got.Scores {
				replayed[SettingsString(s.Settings)] = s
			}
			listed, grid, settings := map[string]bool{}, map[int64][]scaling.FloorSettings{}, 0
			for _, c := range cands {
				listed[SettingsString(c)] = true
				_, ok := replayed[SettingsString(c)]
				switch {
				case inHeadroomFamily(c) && in.AvailabilityTarget <= 0:
					grid[c.HoldSeconds] = append(grid[c.HoldSeconds], c)
				default:
					require.True(t, ok, "every other candidate replayed (with an availability target, every one): %s", SettingsString(c))
				}
				if ok {
					settings++
				}
			}
			require.Contains(t, got.Reason, fmt.Sprintf("with %d settings", settings))
			for hold, shares := range grid {
				if hold > 0 && !heldReplayed {
					continue // the held twins wait for their family to contend
				}
				slices.SortFunc(shares, func(a, b scaling.FloorSettings) int { return cmp.Compare(*a.BoundShare, *b.BoundShare) })
				for i, c := range shares { // from the lowest share up to the first over the budget
					s, ok := replayed[SettingsString(c)]
					require.True(t, ok, "share %s replayed: none below it went over the budget", SettingsString(c))
					_, inc := gains(withoutCostliestDay(got.Scores[0].days, s.days))
					over := inc > budget*budgetShare(got.Scores[0].days, s.days, budget) || lastDayIncrease(got.Scores[0].days, s.days, got.lastDayOvershot) > budget
					if over {
						for _, above := range shares[i+1:] {
							_, ok := replayed[SettingsString(above)]
							require.False(t, ok, "%s replayed above %s, which went over the budget", SettingsString(above), SettingsString(c))
						}
						break
					}
				}
			}
			require.LessOrEqual(t, len(got.Scores), settings+2*headroomRefinements, "and at most the refinements of the headroom shares")
			require.Equal(t, len(got.Scores), got.Candidates)
			for _, s := range got.Scores {
				if !listed[SettingsString(s.Settings)] {
					require.True(t, s.Settings.BoundThroughout, "refinements are of the bound held throughout: %s", SettingsString(s.Settings))
				}
			}
			require.InDelta(t, 7*24*60, got.WindowMinutes, 1)
			if tt.wantCheapest {
				require.LessOrEqual(t, got.ReplicaHoursIncrease, 0.0)
				return
			}
			require.Equal(t, tt.wantOff, got.FloorsOff(), "chose %s: %s", SettingsString(got.FloorSettings), got.Reason)
			if tt.wantBeyondMax == 0 {
				require.NotContains(t, got.Reason, "maxReplicas", "no load above max replicas here")
			}
			unpaid := slices.ContainsFunc(got.Scores[1:], func(s Score) bool { // Scores[0] is off: the reactive days
				red, inc := gains(withoutCostliestDay(got.Scores[0].days, s.days))
				return inc <= DefaultBudget*budgetShare(got.Scores[0].days, s.days, DefaultBudget) && red >= minGain && red < inc
			})
			require.Equal(t, tt.wantUnpaid, unpaid && tt.wantOff, "a floor that does not pay for itself")
			lastDayRefused := slices.ContainsFunc(got.Scores[1:], func(s Score) bool {
				red, inc := gains(withoutCostliestDay(got.Scores[0].days, s.days))
				return inc <= DefaultBudget*budgetShare(got.Scores[0].days, s.days, DefaultBudget) && red >= max(minGain, inc) &&
					s.Summary.UnderProvisionedReplicaMinutes <= got.Reactive.UnderProvisionedReplicaMinutes &&
					lastDayIncrease(got.Scores[0].days, s.days, got.lastDayOvershot) > DefaultBudget
			})
			require.Equal(t, tt.wantLastDayRefused, lastDayRefused, "a floor refused for its last day's cost")
			chosen := chosenScore(got)
			require.LessOrEqual(t, lastDayIncrease(got.Scores[0].days, chosen.days, got.lastDayOvershot), DefaultBudget, "the budget holds on the last day")
			if tt.wantOff {
				require.Zero(t, got.UnderProvisionedReduction)
				require.Zero(t, got.ReplicaHoursIncrease)
				return
			}
			require.GreaterOrEqual(t, got.UnderProvisionedReduction, tt.wantReduction)
			require.Equal(t, tt.wantThroughout, got.BoundThroughout, "chose %s", SettingsString(got.FloorSettings))
			require.Equal(t, tt.wantSurge, got.SurgeSeconds > 0, "chose %s", SettingsString(got.FloorSettings))
			require.Equal(t, tt.wantAtOnce, got.StepDownAtOnce, "chose %s", SettingsString(got.FloorSettings))
			require.GreaterOrEqual(t, got.Reactive.BeyondMaxReplicaMinutes, tt.wantBeyondMax*got.Reactive.UnderProvisionedReplicaMinutes)
			if tt.wantEventsAtMost > 0 {
				require.LessOrEqual(t, float64(chosen.Summary.ScaleEvents()), tt.wantEventsAtMost*float64(max(1, got.Reactive.ScaleEvents())),
					"scale events of %s against the reactive replay's", SettingsString(got.FloorSettings))
			}
			require.True(t, startsFewPods(got.Scores[0].days, chosen), "%s starts %d pods against the reactive replay's %d",
				SettingsString(got.FloorSettings), chosen.Summary.PodsStarted, got.Reactive.PodsStarted)
			if tt.wantBeyondMax > 0 {
				require.Contains(t, got.Reason, "% of the reactive HPA's under-provisioned replica-minutes was load above what its 50 max replicas carry, which no floor serves: only a higher maxReplicas does")
				require.Equal(t, got.Reactive.BeyondMaxReplicaMinutes, chosen.Summary.BeyondMaxReplicaMinutes, "the load alone decides what is beyond max")
				require.Less(t, 1-chosen.Summary.UnderProvisionedReplicaMinutes/got.Reactive.UnderProvisionedReplicaMinutes, minGain,
					"counted with the load beyond max, the floor's gain would fall below minGain")
			}
			chosenRed, chosenInc := gains(withoutCostliestDay(got.Scores[0].days, chosen.days))
			require.LessOrEqual(t, chosenInc, budget*budgetShare(got.Scores[0].days, chosen.days, budget), "the budget holds on the replay, without the costliest day as choose measures it")
			for _, s := range got.Scores { // nothing within the budget removed more, give or take reductionTie
				if red, _, ok := qualifies(got.Reactive, got.Scores[0].days, s, budget, got.lastDayOvershot); ok {
					require.LessOrEqual(t, red, chosenRed+reductionTie+1e-9, SettingsString(s.Settings))
				}
			}
		})
	}
}

func TestCandidatesAreDistinctAndStartWithOff(t *testing.T) {
	c := Candidates(5*time.Minute, 2*time.Minute, 5*time.Minute, true, DefaultTolerance)
	require.True(t, c[0].Off)
	seen := map[string]bool{}
	for _, s := range c {
		k := SettingsString(s)
		require.False(t, seen[k], "duplicate candidate %s", k)
		seen[k] = true
	}
	// twinOf checks s names what sets it apart (suffix) and has its twin without it (twin).
	twinOf := func(s, twin scaling.FloorSettings, suffix string) {
		require.True(t, seen[SettingsString(twin)], "%s has a twin without%s", SettingsString(s), suffix)
		require.Contains(t, SettingsString(s), suffix)
	}
	var throughout, held, surges, pastTolerance int
	for _, s := range c {
		if inHeadroomFamily(s) {
			throughout++
		}
		if inHeadroomFamily(s) && s.HoldSeconds > 0 {
			held++
			twin := s
			twin.HoldSeconds = 0
			twinOf(s, twin, " hold=1h0m0s")
		}
		if s.SurgeSeconds > 0 {
			surges++
		}
		if s.SurgeTolerance > 0 {
			pastTolerance++
			twin := s
			twin.SurgeTolerance = 0
			twinOf(s, twin, " past 0.1")
		}
	}
	require.Equal(t, 4, held, "a held twin of each share of the bound held throughout")
	require.Equal(t, 8, throughout)
	require.Equal(t, 10, surges)
	require.Equal(t, 5, pastTolerance, "a twin of each surge floor raising it past the HPA's tolerance only")
	require.Len(t, c, 38)
	for _, s := range Candidates(5*time.Minute, 2*time.Minute, 5*time.Minute, false, DefaultTolerance) {
		require.Zero(t, s.SurgeSeconds, "no surge floor without the HPA's metric: %s", SettingsString(s))
	}
}

// The settings that wait for the HPA's tolerance take the tolerance of the HPA replayed (its
// spec.behavior's), and an HPA without one has no such twins: they would be their twins.
func TestCandidatesTakeTheHPAsTolerance(t *testing.T) {
	for _, tt := range []struct {
		tolerance float64
		wantLen   int
	}{{0.05, 38}, {0, 32}} {
		c := Candidates(5*time.Minute, 2*time.Minute, 5*time.Minute, true, tt.tolerance)
		require.Len(t, c, tt.wantLen, "tolerance %v", tt.tolerance)
		var gated int
		for _, s := range c {
			if s.SurgeTolerance > 0 || s.Tolerance > 0 {
				gated++
				require.Equal(t, tt.tolerance, max(s.SurgeTolerance, s.Tolerance), SettingsString(s))
			}
		}
		require.Equal(t, tt.wantLen-32, gated, "tolerance %v: the five surge twins and one bound settling within it", tt.tolerance)
	}
}

func TestCalmEnough(t *testing.T) {
	week := func(pods int) Summary { return Summary{ScaleUps: 1, PodsStarted: pods, EvaluatedMinutes: 7 * 1440} }
	for _, tc := range []struct {
		name          string
		reactive, run Summary
		want          bool
	}{
		{name: "as many as the reactive HPA", reactive: week(100), run: week(100), want: true},
		{name: "four times as many and two a day more", reactive: week(100), run: week(414), want: true},
		{name: "one more", reactive: week(100), run: week(415)},
		{name: "a load the reactive HPA never scaled for: two a day", reactive: week(0), run: week(14), want: true},
		{name: "and fifteen in the week", reactive: week(0), run: week(15)},
		{name: "six times as many", reactive: week(177), run: week(1133)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, calmEnough(tc.reactive, tc.run))
		})
	}
}

// TestPredictionFloorsHoldAsThePlanner checks a replay's held floors are the planner's
// (actuator.PredictionFloor.HeldFloor) at each of its rounds, and its floors those of Floor.
func TestPredictionFloorsHoldAsThePlanner(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(5, 5))
	trace := forecast.Series{Start: start, Step: 5 * time.Minute, Values: make([]float64, 2*288)}
	level := func(t time.Time) float64 {
		return 300 + 200*math.Sin(2*math.Pi*float64(t.Hour()*60+t.Minute())/1440) + 80*rng.Float64()
	}
	now := trace.End()
	preds := hourlyForecasts(trace, now, 1, level, 1.2)
	svc := actuator.ServiceConfig{LeadTime: 5 * time.Minute, CapacityPerReplica: 20}
	s := scaling.FloorSettings{BoundShare: share(1), LeadSeconds: 300, NoiseMarginReplicas: 3, Interpolate: true, BoundThroughout: true, HoldSeconds: 3600}
	from := now.Add(-24 * time.Hour)
	for _, step := range []time.Duration{15 * time.Second, time.Minute} {
		every := planRounds(step)
		round := time.Duration(every) * step
		n := int(now.Sub(from) / step)
		active := make([]int, n)
		k := -1
		for i := range active {
			for k+1 < len(preds) && preds[k+1].FittedAt <= from.Add(time.Duration(i)*step).UnixMilli() {
				k++
			}
			active[i] = k
		}
		pfs := make([]actuator.PredictionFloor, len(preds))
		for j := range preds {
			pfs[j] = actuator.NewPredictionFloor(preds[j], svc, &s)
		}
		got := predictionFloors(pfs, active, from, step, every, actuator.HoldRounds(time.Hour, round))
		var differ int
		for i := 0; i < n; i += every {
			at := from.Add(time.Duration(i) * step)
			planner := actuator.NewPredictionFloor(preds[active[i]], svc, &s)
			want, _ := planner.Floor(at)
			held, _ := planner.HeldFloor(at, round)
			require.Equal(t, want, got.floors[i], "floor at %s, step %s", at, step)
			require.Equal(t, held, got.held[i], "held floor at %s, step %s", at, step)
			if held != want {
				differ++
			}
		}
		require.Greater(t, differ, n/every/10, "the hold keeps floors above the unheld ones often enough to compare")
	}
}

func TestSlidingMax(t *testing.T) {
	for _, tc := range []struct {
		name  string
		v     []int32
		width int
		want  []int32
	}{
		{"width one is the values", []int32{3, 1, 2}, 1, []int32{3, 1, 2}},
		{"a peak is held for its windows", []int32{1, 5, 2, 2, 1, 1}, 3, []int32{5, 5, 2, 2}},
		{"falling", []int32{5, 4, 3, 2, 1}, 2, []int32{5, 4, 3, 2}},
		{"rising", []int32{1, 2, 3, 4}, 3, []int32{3, 4}},
		{"ties", []int32{2, 2, 2, 1, 2}, 2, []int32{2, 2, 2, 2}},
		{"the whole slice", []int32{1, 7, 3}, 3, []int32{7}},
		{"wider than the slice", []int32{1, 2}, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := slidingMax(nil, nil, tc.v, tc.width)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("as each window's max, reusing its buffers", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 3))
		var dst, queue []int32
		for range 200 {
			v := make([]int32, 1+rng.IntN(150))
			for i := range v {
				v[i] = int32(rng.IntN(6))
			}
			width := 1 + rng.IntN(len(v))
			dst, queue = slidingMax(dst[:0], queue[:0], v, width)
			require.Len(t, dst, len(v)-width+1)
			for r := range dst {
				require.Equal(t, slices.Max(v[r:r+width]), dst[r], "window at %d of %v, width %d", r, v, width)
			}
		}
	})
}

func TestWithoutCostliestDay(t *testing.T) {
	day := func(under, hours float64) Summary {
		return Summary{UnderProvisionedReplicaMinutes: under, ReplicaHours: hours}
	}
	tests := []struct {
		name         string
		reactive     []Summary
		run          []Summary
		wantReactive Summary
		wantRun      Summary
	}{
		{"two days: nothing left out",
			[]Summary{day(10, 100), day(10, 100)}, []Summary{day(1, 150), day(1, 101)},
			day(20, 200), day(2, 251)},
		{"the day the run cost most is left out of both",
			[]Summary{day(10, 100), day(30, 100), day(10, 100)}, []Summary{day(2, 105), day(0, 160), day(2, 104)},
			day(20, 200), day(4, 209)},
		{"load beyond max replicas is summed like the rest",
			[]Summary{{UnderProvisionedReplicaMinutes: 10, BeyondMaxReplicaMinutes: 8, ReplicaHours: 100}, day(10, 100), day(10, 100)},
			[]Summary{{UnderProvisionedReplicaMinutes: 9, BeyondMaxReplicaMinutes: 8, ReplicaHours: 101}, day(0, 160), day(2, 104)},
			Summary{UnderProvisionedReplicaMinutes: 20, BeyondMaxReplicaMinutes: 8, ReplicaHours: 200},
			Summary{UnderProvisionedReplicaMinutes: 11, BeyondMaxReplicaMinutes: 8, ReplicaHours: 205}},
		{"cost is measured against that day's reactive run",
			[]Summary{day(5, 50), day(5, 300), day(5, 100)}, []Summary{day(1, 80), day(1, 320), day(1, 110)},
			day(10, 400), day(2, 430)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, p := withoutCostliestDay(tt.reactive, tt.run)
			require.Equal(t, tt.wantReactive, r)
			require.Equal(t, tt.wantRun, p)
		})
	}
}

func TestBudgetShare(t *testing.T) {
	day := func(minutes, hours float64) Summary { return Summary{EvaluatedMinutes: minutes, ReplicaHours: hours} }
	week := func(hours ...float64) []Summary {
		out := make([]Summary, len(hours))
		for i, h := range hours {
			out[i] = day(1440, h)
		}
		return out
	}
	reactive := week(100, 100, 100, 100, 100, 100, 100)
	// Six days at +7, +9, +7, +9, +8, +8 % (and a costliest left out): standard deviation
	// 0.894 points, standard error 0.365; budgetShareZ (four) of them leave 0.854 of the 10 %
	// budget.
	steadyish := week(107, 109, 107, 109, 108, 108, 130)
	tests := []struct {
		name          string
		reactive, run []Summary
		budget        float64
		want          float64
	}{
		{"the same cost every day: the most", reactive, week(108, 108, 108, 108, 108, 108, 108), 0.1, MaxBudgetShare},
		{"the costliest day is left out, as the budget leaves it out", reactive, week(108, 108, 108, 160, 108, 108, 108), 0.1, MaxBudgetShare},
		{"a little spread: four standard errors kept unspent", reactive, steadyish, 0.1, 1 - budgetShareZ*math.Sqrt(0.00008/6)/0.1},
		{"a wider budget, the same spread: a larger share", reactive, steadyish, 0.2, MaxBudgetShare},
		{"cost leaping from day to day: the default", reactive, week(100, 125, 101, 130, 102, 120, 100), 0.1, DefaultBudgetShare},
		{"measured against each day's reactive run", week(50, 100, 200, 400, 100, 50, 200), week(54, 108, 216, 432, 108, 54, 216), 0.1, MaxBudgetShare},
		{"short days are not read: too few full ones", []Summary{day(1440, 100), day(1440, 100), day(1440, 100), day(600, 40), day(600, 40)},
			[]Summary{day(1440, 108), day(1440, 108), day(1440, 108), day(600, 44), day(600, 44)}, 0.1, DefaultBudgetShare},
		{"two days: the default", week(100, 100), week(108, 108), 0.1, DefaultBudgetShare},
		{"no budget: the default", reactive, reactive, 0, DefaultBudgetShare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.InDelta(t, tt.want, budgetShare(tt.reactive, tt.run, tt.budget), 1e-6)
		})
	}
}

func TestLastDayIncrease(t *testing.T) {
	day := func(minutes, hours float64) Summary { return Summary{EvaluatedMinutes: minutes, ReplicaHours: hours} }
	loaded := func(hours, load float64) Summary {
		return Summary{EvaluatedMinutes: 1440, ReplicaHours: hours, LoadReplicaHours: load}
	}
	tests := []struct {
		name          string
		reactive, run []Summary
		overshot      bool
		want          float64
	}{
		{"a busy last day: against that day",
			[]Summary{day(1440, 100), day(1440, 100), day(1440, 200)}, []Summary{day(1440, 100), day(1440, 100), day(1440, 220)}, false, 0.1},
		{"a quiet last day: against the window's average day",
			[]Summary{day(1440, 300), day(1440, 300), day(1440, 60)}, []Summary{day(1440, 300), day(1440, 300), day(1440, 90)}, false, 30.0 / 220},
		{"a quiet last day the forecasts overshot: against that day alone",
			[]Summary{day(1440, 300), day(1440, 300), day(1440, 60)}, []Summary{day(1440, 300), day(1440, 300), day(1440, 90)}, true, 0.5},
		{"a short last day: against the average day over as long",
			[]Summary{day(1440, 240), day(1440, 240), day(720, 30)}, []Summary{day(1440, 240), day(1440, 240), day(720, 45)}, false, 15.0 / 102},
		{"cheaper than reactive on the last day",
			[]Summary{day(1440, 100), day(1440, 100)}, []Summary{day(1440, 100), day(1440, 90)}, false, -0.1},
		{"as loaded as the window's average day but run leaner (its noise fell): against that day",
			[]Summary{loaded(300, 200), loaded(300, 200), loaded(250, 200)}, []Summary{loaded(300, 200), loaded(300, 200), loaded(280, 200)}, false, 0.12},
		{"quiet in load: against the window's average day",
			[]Summary{loaded(300, 200), loaded(300, 200), loaded(60, 30)}, []Summary{loaded(300, 200), loaded(300, 200), loaded(90, 30)}, false, 30.0 / 220},
		{"partly quieter in load: against that day scaled to the average load",
			[]Summary{loaded(300, 200), loaded(300, 200), loaded(200, 150)}, []Summary{loaded(300, 200), loaded(300, 200), loaded(230, 150)}, false, 30 / (200 * (550.0 / 3) / 150)},
		{"no replica-hours to measure against", []Summary{day(1440, 0)}, []Summary{day(1440, 5)}, false, 0},
		{"no days", nil, nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.InDelta(t, tt.want, lastDayIncrease(tt.reactive, tt.run, tt.overshot), 1e-12)
		})
	}
}

func TestForecastOvershoot(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	times := make([]time.Time, 4)
	for i := range times {
		times[i] = start.Add(time.Duration(i) * time.Minute)
	}
	expecting := func(load float64) scaling.Prediction {
		p := scaling.Prediction{FittedAt: start.UnixMilli(), ValidUntil: times[3].UnixMilli()}
		for _, at := range times {
			p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: at.UnixMilli(), ExpectedLoad: load, UpperLoad: 2 * load})
		}
		return p
	}
	nan := math.NaN()
	tests := []struct {
		name         string
		loads        []float64
		active       []int
		from, scored int
		want         float64
	}{
		{"steps without a forecast or a load are left out", []float64{10, 100, nan, 100}, []int{-1, 0, 0, 0}, 0, 0, 0.5},
		{"each step read from its own forecast", []float64{1000, 100, 300, 100}, []int{0, 1, 0, 0}, 1, 1, (100+150+150)/500.0 - 1},
		{"a quiet stretch: against the window's average load", []float64{1000, 1000, 100, 100}, []int{0, 0, 0, 0}, 2, 0, 100 / 1100.0},
		{"less expected than came", []float64{200, 200, 200, 200}, []int{0, 0, 0, 0}, 0, 0, -0.25},
		{"nothing forecast", []float64{100, 100, 100, 100}, []int{-1, -1, -1, -1}, 0, 0, 0},
		{"forecast load and none came", []float64{0, 0, 0, 0}, []int{0, 0, 0, 0}, 0, 0, math.Inf(1)},
	}
	preds := []scaling.Prediction{expecting(150), expecting(100)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := forecastOvershoot(times, tt.loads, tt.active, preds, tt.from, tt.scored)
			if math.IsInf(tt.want, 1) {
				require.True(t, math.IsInf(got, 1), "got %v", got)
				return
			}
			require.InDelta(t, tt.want, got, 1e-12)
		})
	}
}

// TestReplayFloorsRelease: once a surge is over, a surge floor held by the step-down policy
// pays for replicas no load asks for after the HPA's own stabilization has let them go;
// released to the most the HPA's metric asked for over the last minutes, as the planner does
// for surge floors, it costs less and leaves no more shortfall.
func TestReplayFloorsRelease(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	const n = 90
	times := make([]time.Time, n)
	loads := make([]float64, n)
	floors := make([]int32, n)
	for i := range n {
		times[i] = start.Add(time.Duration(i) * time.Minute)
		switch {
		case i >= 20 && i < 25: // a surge builds over five minutes: 10 → 20 replicas' load
			loads[i] = 300 + float64(i-19)*60
		case i >= 25 && i < 28: // and is over three minutes later: news, not a new level
			loads[i] = 600
		default:
			loads[i] = 300
		}
		if i >= 21 && i < 26 {
			floors[i] = 24 // the surge floor, carried on ahead of the rise
		}
	}
	cfg := Config{MinReplicas: 2, MaxReplicas: 50, CapacityPerReplica: 30, InitialReplicas: 10, PodStartup: 2 * time.Minute}
	var defaults actuator.StepDownPolicy // zero: the actuator's defaults
	held, _ := replayFloors(cfg, times, loads, replayedFloors{floors: floors}, nil, 0, time.Minute, defaults, nil)
	_, release := surgeFloors(times, loads, cfg.CapacityPerReplica, 1, nil)
	surge := &surgeReplay{floors: floors, release: release}
	released, _ := replayFloors(cfg, times, loads, replayedFloors{floors: make([]int32, n)}, surge, 0, time.Minute, defaults, nil)
	require.Less(t, released.ReplicaHours, held.ReplicaHours, "released sooner, paid for less")
	require.LessOrEqual(t, released.UnderProvisionedReplicaMinutes, held.UnderProvisionedReplicaMinutes)
	t.Logf("held: %.2f replica-hours, %.1f under-provisioned replica-minutes; released: %.2f, %.1f",
		held.ReplicaHours, held.UnderProvisionedReplicaMinutes, released.ReplicaHours, released.UnderProvisionedReplicaMinutes)
}

func TestRefineHeadroom(t *testing.T) {
	throughout := func(b float64) Score {
		return Score{Settings: scaling.FloorSettings{BoundShare: share(b), LeadSeconds: 300, NoiseMarginReplicas: 3, Interpolate: true, BoundThroughout: true}}
	}
	grid := []Score{{Settings: scaling.FloorSettings{Off: true}}, throughout(0.5), throughout(1), throughout(2), throughout(3),
		{Settings: scaling.FloorSettings{BoundShare: share(1), BoundThroughout: true, SurgeSeconds: 60}}}
	held := func(b float64) Score {
		s := throughout(b)
		s.Settings.HoldSeconds = 3600
		return s
	}
	pending := func(scores []Score) []Score {
		out := slices.Clone(scores)
		for i := range out {
			out[i].pending = inHeadroomFamily(out[i].Settings)
		}
		return out
	}
	tests := []struct {
		name      string
		grid      []Score
		highest   float64 // the highest share that qualifies
		overFrom  float64 // the lowest share over the budget; 0: none
		want      []float64
		wantHolds []int64 // of each replay; nil: none
		left      []float64
	}{
		{name: "between two grid shares: bisected four times", grid: grid, highest: 1.6, want: []float64{1.5, 1.75, 1.625, 1.5625}},
		{name: "every half qualifies: up towards the next grid share", grid: grid, highest: 1.99, want: []float64{1.5, 1.75, 1.875, 1.9375}},
		{name: "none qualifies: nothing replayed", grid: grid, highest: 0.1},
		{name: "the highest share qualifies: nothing replayed", grid: grid, highest: 3},
		{name: "only surge candidates hold the bound: nothing replayed", grid: []Score{grid[0], grid[5]}, highest: 3},
		{name: "the grid out of order: bisected all the same", grid: []Score{grid[4], grid[2], grid[3]}, highest: 1.6, want: []float64{1.5, 1.75, 1.625, 1.5625}},
		{name: "held twins: each hold's family bisected on its own", grid: append(slices.Clone(grid), held(0.5), held(1), held(2), held(3)), highest: 1.6,
			want: []float64{1.5, 1.75, 1.625, 1.5625, 1.5, 1.75, 1.625, 1.5625}, wantHolds: []int64{0, 0, 0, 0, 3600, 3600, 3600, 3600}},
		{name: "pending: replayed from the lowest up to the first over the budget, then bisected", grid: pending(grid), highest: 1.6, overFrom: 1.7,
			want: []float64{0.5, 1, 2, 1.5, 1.75, 1.625, 1.5625}, left: []float64{3}},
		{name: "pending, the lowest over the budget: only it replayed", grid: pending(grid), highest: 0.1, overFrom: 0.5,
			want: []float64{0.5}, left: []float64{1, 2, 3}},
		{name: "pending, none qualifies and none over the budget: all replayed", grid: pending(grid), highest: 0.1,
			want: []float64{0.5, 1, 2, 3}},
		{name: "pending out of order: replayed by share", grid: pending([]Score{grid[4], grid[2], grid[1], grid[3]}), highest: 1.6, overFrom: 3,
			want: []float64{0.5, 1, 2, 3, 1.5, 1.75, 1.625, 1.5625}},
		{name: "pending held twins: each family up to its own first over the budget", grid: pending(append(slices.Clone(grid), held(0.5), held(1), held(2), held(3))), highest: 1.6, overFrom: 1.7,
			want: []float64{0.5, 1, 2, 1.5, 1.75, 1.625, 1.5625, 0.5, 1, 2, 1.5, 1.75, 1.625, 1.5625}, left: []float64{3, 3},
			wantHolds: []int64{0, 0, 0, 0, 0, 0, 0, 3600, 3600, 3600, 3600, 3600, 3600, 3600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qualifies := func(s Score) bool { return s.Settings.SurgeSeconds == 0 && *s.Settings.BoundShare <= tt.highest }
			overBudget := func(s Score) bool {
				require.False(t, s.pending, "a pending share is replayed before it is judged")
				return tt.overFrom > 0 && *s.Settings.BoundShare >= tt.overFrom
			}
			var replayed []float64
			var holds []int64
			got := refineHeadroom(slices.Clone(tt.grid), qualifies, overBudget, func(s scaling.FloorSettings) Score {
				replayed = append(replayed, *s.BoundShare)
				holds = append(holds, s.HoldSeconds)
				require.Equal(t, throughout(1).Settings.LeadSeconds, s.LeadSeconds, "the family's other settings kept")
				require.True(t, s.BoundThroughout)
				return Score{Settings: s}
			})
			require.Equal(t, tt.want, replayed)
			if tt.wantHolds != nil {
				require.Equal(t, tt.wantHolds, holds)
			} else {
				require.Zero(t, slices.Max(append(holds, 0)), "no held family, no held replay")
			}
			var left []float64
			for _, s := range got {
				if s.pending {
					left = append(left, *s.Settings.BoundShare)
				}
			}
			require.Equal(t, tt.left, left, "the shares left pending")
			mids := slices.DeleteFunc(slices.Clone(replayed), func(b float64) bool { return slices.Contains([]float64{0.5, 1, 2, 3}, b) })
			require.Len(t, got, len(tt.grid)+len(mids), "each bisection's replay appended")
			for i, s := range got[:len(tt.grid)] {
				require.Equal(t, tt.grid[i].Settings, s.Settings, "the grid's scores stay in their places")
			}
		})
	}
}

func TestChooseCountsNearTiesAsTies(t *testing.T) {
	days := func(short, hours float64) []Summary {
		d := Summary{UnderProvisionedReplicaMinutes: short, ReplicaHours: hours, EvaluatedMinutes: 1440}
		return []Summary{d, d, d}
	}
	score := func(short, hours float64) Score {
		ds := days(short, hours)
		return Score{Settings: scaling.FloorSettings{BoundShare: share(1)}, Summary: ds[0].plus(ds[1]).plus(ds[2]), days: ds}
	}
	scaled := func(s Score, events int) Score {
		s.Summary.ScaleUps, s.Summary.ScaleDowns = events/2, events-events/2
		return s
	}
	churning := func(s Score, perDay int) Score { // each day's pods started, as calmEnough reads them: past two a day over none
		for i := range s.days {
			s.days[i].PodsStarted = perDay
		}
		s.Summary.PodsStarted = perDay * len(s.days)
		return s
	}
	reactiveDays := days(100, 100)
	reactive := reactiveDays[0].plus(reactiveDays[1]).plus(reactiveDays[2])
	off := Score{Settings: scaling.FloorSettings{Off: true}, Summary: reactive, days: reactiveDays}
	tests := []struct {
		name   string
		scores []Score
		want   int
	}{
		{name: "all of the shortfall at +6 %, or 99.8 % of it at +3 %: the cheaper", scores: []Score{off, score(0, 106), score(0.2, 103)}, want: 2},
		{name: "and 98 % of it at +1 %: too far from the most", scores: []Score{off, score(0, 106), score(2, 101)}, want: 1},
		{name: "over the budget: not a tie, not a candidate", scores: []Score{off, score(0.2, 103), score(0, 109)}, want: 1},
		{name: "equal reductions and costs: the earlier", scores: []Score{off, score(1, 104), score(1, 104)}, want: 1},
		{name: "none qualifies: off", scores: []Score{off, score(0, 120)}, want: 0},
		{name: "as much removed, half the scale events for +0.5 %: the calmer", scores: []Score{off, scaled(score(0, 103), 100), scaled(score(0, 103.5), 50)}, want: 2},
		{name: "the calmest of those within a point of the cheapest", scores: []Score{off, scaled(score(0, 103), 100), scaled(score(0, 103.9), 60), scaled(score(0.1, 103.2), 40), scaled(score(0, 104.5), 10)}, want: 3},
		{name: "half the scale events for +2 %: the cheaper", scores: []Score{off, scaled(score(0, 103), 100), scaled(score(0, 105), 50)}, want: 1},
		{name: "5 % fewer scale events: the cheaper", scores: []Score{off, scaled(score(0, 103), 100), scaled(score(0, 103.2), 95)}, want: 1},
		{name: "calmer but removing less: the one removing the most", scores: []Score{off, scaled(score(0, 103), 100), scaled(score(2, 103), 10)}, want: 1},
		{name: "removing the most, starting more pods than calmEnough allows: the calmer, though it removes less", scores: []Score{off, churning(score(0, 103), 3), score(30, 103)}, want: 2},
		{name: "every floor starting more pods than calmEnough allows: off", scores: []Score{off, churning(score(0, 103), 3)}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, choose(reactive, reactiveDays, tt.scores, CalibrationInput{Budget: DefaultBudget}, false))
		})
	}
}

// TestChooseAvailabilityPassesOverChurn: with an availability target too, a floor starting
// more pods than calmEnough allows is passed over, though it meets the target for less.
func TestChooseAvailabilityPassesOverChurn(t *testing.T) {
	score := func(shortMinutes, hours float64, podsPerDay int) Score {
		d := Summary{ShortfallMinutes: shortMinutes, ReplicaHours: hours, PodsStarted: podsPerDay, EvaluatedMinutes: 1440}
		ds := []Summary{d, d, d}
		return Score{Settings: scaling.FloorSettings{BoundShare: share(1)}, Summary: d.plus(d).plus(d), days: ds}
	}
	off := score(100, 100, 0)
	off.Settings = scaling.FloorSettings{Off: true}
	in := CalibrationInput{AvailabilityTarget: 0.99}
	for _, tc := range []struct {
		name   string
		scores []Score
		want   int
	}{
		{name: "the cheaper meeting it starts too many pods: the dearer", scores: []Score{off, score(1, 103, 3), score(1, 105, 1)}, want: 2},
		{name: "only a floor starting too many pods meets it: the most available of the rest", scores: []Score{off, score(1, 103, 3), score(50, 104, 1)}, want: 2},
		{name: "none calm enough: off", scores: []Score{off, score(1, 103, 3)}, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, choose(off.Summary, off.days, tc.scores, in, false))
		})
	}
}

func TestReplayStep(t *testing.T) {
	for _, tt := range []struct {
		history, want time.Duration
	}{
		{0, time.Minute},
		{30 * time.Minute, time.Minute},
		{5 * time.Minute, time.Minute},
		{4 * time.Minute, time.Minute},
		{3 * time.Minute, 45 * time.Second},
		{2 * time.Minute, 30 * time.Second},
		{time.Minute, 15 * time.Second},
		{30 * time.Second, 15 * time.Second},
		{15 * time.Second, 15 * time.Second},
		{10 * time.Second, 15 * time.Second},
		{time.Second, 15 * time.Second},
	} {
		require.Equal(t, tt.want, replayStep(tt.history), "history every %s", tt.history)
	}
}

// A steady load whose noise fell three days before now: the reactive HPA runs fewer replicas
// at the same load, and floors sized for the noise that was would cost more than the budget
// every day from then on. The last day is measured against itself, not against the noisier
// days' average.
func TestCalibrateNoiseFell(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	now := start.Add(14 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(11, 11))
	trace := forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, 15*1440)}
	for i := range trace.Values {
		noise := 0.2
		if i >= 11*1440 {
			noise = 0.05
		}
		trace.Values[i] = 300 * (1 + noise*rng.NormFloat64())
	}
	got := Calibrate(CalibrationInput{History: trace, Now: now, LeadTime: 5 * time.Minute,
		Predictions: hourlyForecasts(trace, now, 7, func(time.Time) float64 { return 300 }, 1.2),
		HPA:         Config{MinReplicas: 1, MaxReplicas: 60, CapacityPerReplica: 10, PodStartup: 2 * time.Minute}})
	days := got.Scores[0].days
	require.Less(t, days[len(days)-1].ReplicaHours, 0.95*days[0].ReplicaHours, "the reactive HPA ran leaner once the noise fell")
	require.False(t, got.FloorsOff(), "a floor within the budget still pays: %s", got.Reason)
	require.LessOrEqual(t, lastDayIncrease(days, chosenScore(got).days, true), DefaultBudget,
		"chose %s: %s", SettingsString(got.FloorSettings), got.Reason)
}

// chosenScore is the replay of the settings Calibrate chose.
func chosenScore(got CalibrationResult) Score {
	return got.Scores[slices.IndexFunc(got.Scores, func(s Score) bool { return SettingsString(s.Settings) == SettingsString(got.FloorSettings) })]
}

// Calibration scores each setting as the simulator (Compare's replay: the real planner every
// 30 s, the HPA every 15 s) runs it over the same span, with forecasts running further ahead
// than the planner reads, as live. On noisy flat per-minute load, replayed once a minute on
// the samples, the floors chosen ran 1.1-1.4 points of replica-hours above what calibration
// promised; with calibration reading each forecast only until the next fit while the planner
// read all of it, share=0.5 here ran 0.4 points above (rises cut short at the forecast's end).
// noisyDaily is four days of per-minute load on a daily sine with 25 % noise, and the sine.
func noisyDaily(start time.Time, seed uint64) (forecast.Series, func(time.Time) float64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	level := func(t time.Time) float64 { return 300 + 150*math.Sin(2*math.Pi*float64(t.Hour()*60+t.Minute())/1440) }
	trace := forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, 4*1440)}
	for i := range trace.Values {
		trace.Values[i] = level(start.Add(time.Duration(i)*time.Minute)) * (1 + 0.25*rng.NormFloat64())
	}
	return trace, level
}

// cautiousBehavior is as production HPAs are often tuned: slow to scale down, a pod a minute
// at most, scaling up on a smaller change.
var cautiousBehavior = actuator.Behavior{
	ScaleUp: actuator.ScalingRules{Tolerance: 0.05, Select: actuator.SelectMin, Policies: []actuator.ScalingPolicy{
		{Value: 4, Period: time.Minute}, {Percent: true, Value: 100, Period: time.Minute}}},
	ScaleDown: actuator.ScalingRules{StabilizationWindow: 10 * time.Minute, Tolerance: 0.15,
		Policies: []actuator.ScalingPolicy{{Value: 1, Period: time.Minute}}},
}

func TestCalibrationReplaysAsTheSimulator(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	trace, level := noisyDaily(start, 13)
	now := trace.End()
	evalFrom := now.Add(-2 * 24 * time.Hour)
	// Six hours ahead, valid for two: further than the planner reads (actuator.PlanningEnd),
	// as the service's day-long forecasts are.
	preds := hourlyForecasts(trace, now, 2, level, 1.3)
	// The same load with no load at all from 10:00 to 12:00 on both days replayed (an outage
	// upstream), which the forecasts expect as usual: the planner sets them aside
	// (actuator.LoadCollapsed), and calibration must too.
	outage := forecast.Series{Start: trace.Start, Step: trace.Step, Values: slices.Clone(trace.Values)}
	down := func(t time.Time) bool { return !t.Before(evalFrom) && t.Hour() >= 10 && t.Hour() < 12 }
	for i := range outage.Values {
		if down(outage.Start.Add(time.Duration(i) * outage.Step)) {
			outage.Values[i] = 0
		}
	}
	var defaultReactive float64
	for _, tt := range []struct {
		name     string
		behavior actuator.Behavior
		outage   bool
	}{
		{name: "default behavior"},
		{
			// As production HPAs are often tuned: slow to scale down, a pod a minute at most,
			// scaling up on a smaller change.
			name:     "a cautious behavior",
			behavior: cautiousBehavior,
		},
		{name: "an outage", outage: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			trace := trace
			if tt.outage {
				trace = outage
			}
			hpa := Config{MinReplicas: 1, MaxReplicas: 50, CapacityPerReplica: 20, PodStartup: 2 * time.Minute, Behavior: tt.behavior}
			got := Calibrate(CalibrationInput{History: trace, Predictions: preds, HPA: hpa, LeadTime: 5 * time.Minute, Now: now,
				Window: now.Sub(evalFrom), Surge: true})
			if !tt.behavior.IsDefault() {
				require.Contains(t, got.Reason, "through the HPA (its behavior "+tt.behavior.String()+"), pods ready 2m0s after they start,")
			} else {
				require.Contains(t, got.Reason, "through the HPA, pods ready 2m0s after they start,")
			}
			require.Equal(t, int64(120), got.PodStartupSeconds)
			opts := ReplayOptions{MinReplicas: hpa.MinReplicas, MaxReplicas: hpa.MaxReplicas, CapacityPerReplica: hpa.CapacityPerReplica,
				PodStartup: hpa.PodStartup, LeadTime: 5 * time.Minute, StepDown: actuator.DefaultStepDown, PlanEvery: actuator.DefaultInterval,
				Behavior: tt.behavior}
			reactive := replay(opts, trace, evalFrom, nil, preds).Summary
			require.InEpsilon(t, reactive.ReplicaHours, got.Reactive.ReplicaHours, 1e-3)
			switch {
			case tt.outage:
			case defaultReactive == 0:
				defaultReactive = reactive.ReplicaHours
			default:
				require.Greater(t, reactive.ReplicaHours, 1.02*defaultReactive, "a slower scale-down keeps more replicas: the behavior was replayed")
			}
			var floors int
			for _, s := range got.Scores {
				if s.Settings.FloorsOff() {
					continue
				}
				planned := slices.Clone(preds)
				for i := range planned {
					planned[i].Service, planned[i].Calibration = traceService, &scaling.Calibration{FloorSettings: s.Settings}
				}
				simulated := replay(opts, trace, evalFrom, planned, planned)
				run := simulated.Summary
				if tt.outage && !s.Settings.Off {
					require.Greater(t, simulated.SetAsideMinutes, 2*100.0, "%s: set aside for most of both outages", SettingsString(s.Settings))
					for _, x := range simulated.Samples {
						// From a quarter of an hour into the outage (and the floor's five minutes
						// of lead) the forecast's floor is set aside: the floor is the base.
						if down(x.Time) && x.Time.Minute() >= 20 && x.Time.Hour() == 10 || down(x.Time) && x.Time.Hour() == 11 {
							require.Equal(t, hpa.MinReplicas, x.Floor, "%s at %s: set aside", SettingsString(s.Settings), x.Time)
						}
					}
				}
				wantRed, wantInc := gains(reactive, run)
				red, inc := gains(got.Reactive, s.Summary)
				require.InDelta(t, wantInc, inc, 0.001, "%s: replica-hours", SettingsString(s.Settings))
				require.InDelta(t, wantRed, red, 0.005, "%s: under-provisioning removed", SettingsString(s.Settings))
				if inc > 0.01 {
					floors++
				}
			}
			require.Greater(t, floors, 5, "enough settings raise floors to compare")
		})
	}
}
