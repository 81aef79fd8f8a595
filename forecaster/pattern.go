package forecaster

import (
	"math"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

// PatternParams are what DerivePattern needs to read load as replicas.
type PatternParams struct {
	// CapacityPerReplica is the load one replica carries at its HPA target.
	CapacityPerReplica float64
	// MaxReplicas is the HPA's maxReplicas; BaseMinReplicas its floor before the scaler touched it.
	MaxReplicas, BaseMinReplicas int32
}

// DerivePattern turns a forecast covering at least one week (any step) into a load pattern
// (DESIGN.md): expectedLoad is the fraction of maxReplicas × capacityPerReplica that the hour's
// peak upper bound needs; the pattern is weekly when weekdays differ materially, else daily; it
// holds only the windows whose needed floor exceeds the base; Source is derived. Service and
// LastUpdated are left for the caller. Hours are read in loc (UTC when nil).
func DerivePattern(r forecast.Result, p PatternParams, loc *time.Location) scaling.Pattern {
	if loc == nil {
		loc = time.UTC
	}
	pat := scaling.Pattern{
		PatternType: scaling.PatternDaily,
		TimeWindows: []scaling.TimeWindow{},
		Source:      scaling.SourceDerived,
	}
	if loc != time.UTC {
		pat.Timezone = loc.String()
	}
	if p.MaxReplicas <= 0 || !(p.CapacityPerReplica > 0) || math.IsInf(p.CapacityPerReplica, 0) || r.Step <= 0 {
		return pat
	}
	vals := r.Upper
	if len(vals) == 0 {
		vals = r.Mean
	}
	// Peak replicas needed per (weekday, hour): the floor must carry the hour's worst point.
	var need [7][24]int32
	var seen [7][24]bool
	for i, v := range vals {
		t := r.Start.Add(time.Duration(i) * r.Step).In(loc)
		d, h := int(t.Weekday()), t.Hour()
		n := forecast.ReplicasFor(v, p.CapacityPerReplica)
		if n > p.MaxReplicas {
			n = p.MaxReplicas
		}
		if !seen[d][h] || n > need[d][h] {
			need[d][h] = n
		}
		seen[d][h] = true
	}
	// Weekly when some hour's floor differs materially between weekdays: by more than one
	// replica and more than 10 % of maxReplicas (a floor that moves by one replica is noise).
	weekly := false
	tol := max(1, int32(math.Ceil(0.1*float64(p.MaxReplicas))))
	for h := 0; h < 24 && !weekly; h++ {
		lo, hi := int32(math.MaxInt32), int32(-1)
		for d := 0; d < 7; d++ {
			if !seen[d][h] {
				continue
			}
			lo, hi = min(lo, need[d][h]), max(hi, need[d][h])
		}
		if hi >= 0 && hi-lo > tol {
			weekly = true
		}
	}
	frac := func(n int32) float64 {
		return math.Min(1, float64(n)/float64(p.MaxReplicas))
	}
	if weekly {
		pat.PatternType = scaling.PatternWeekly
		for d := 0; d < 7; d++ {
			for h := 0; h < 24; h++ {
				if seen[d][h] && need[d][h] > p.BaseMinReplicas {
					day := d
					pat.TimeWindows = append(pat.TimeWindows, scaling.TimeWindow{DayOfWeek: &day, HourOfDay: h, ExpectedLoad: frac(need[d][h])})
				}
			}
		}
		return pat
	}
	for h := 0; h < 24; h++ {
		var n int32
		any := false
		for d := 0; d < 7; d++ {
			if seen[d][h] {
				n, any = max(n, need[d][h]), true
			}
		}
		if any && n > p.BaseMinReplicas {
			pat.TimeWindows = append(pat.TimeWindows, scaling.TimeWindow{HourOfDay: h, ExpectedLoad: frac(n)})
		}
	}
	return pat
}
