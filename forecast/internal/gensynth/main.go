// Command gensynth writes synthetic load series as series,timestamp,value CSV for the
// forecast speed and accuracy checks.
//
// The default set (-set normal): a daily shape with a sharp morning step, quieter weekends,
// multiplicative noise, 0.2 % outliers (×5), 1 % missing rows, and one holiday (a weekday
// shaped like a Sunday) per series.
//
//	go run ./forecast/internal/gensynth -series 1000 -points 8064 > /tmp/synth.csv
//
// The failure-mode set (-set failure-modes, issue 9): -per-mode series of each family in
// modes.go (normal, dip, drift, plateau, rise, earlypeak, lowcount, spike, step, sparse, moved,
// jobs), named family-NNN, each four weeks of history plus the day after (the horizon's actuals),
// ready for `kai-scaler backtest --origins 7`. -series and -points do not apply to it.
//
//	go run ./forecast/internal/gensynth -set failure-modes -per-mode 30 > /tmp/modes.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

func main() {
	series := flag.Int("series", 1000, "number of series")
	points := flag.Int("points", 8064, "points per series (8064 = 4 weeks at 5 minutes)")
	step := flag.Duration("step", 5*time.Minute, "step between points")
	seed := flag.Uint64("seed", 1, "random seed")
	set := flag.String("set", "normal", "normal, or failure-modes (issue 9's families)")
	perMode := flag.Int("per-mode", 30, "failure-modes: series per family")
	flag.Parse()
	start := time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC) // a Sunday
	switch *set {
	case "normal":
	case "failure-modes":
		if *perMode <= 0 || *step <= 0 || *step > time.Hour {
			fmt.Fprintln(os.Stderr, "gensynth: -per-mode must be positive and -step at most 1h")
			os.Exit(2)
		}
		if err := writeCSV(os.Stdout, failureModes(*perMode, *seed, *step), start, *step); err != nil {
			fmt.Fprintf(os.Stderr, "gensynth: %v\n", err)
			os.Exit(1)
		}
		return
	default:
		fmt.Fprintf(os.Stderr, "gensynth: unknown -set %q, want normal or failure-modes\n", *set)
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	perDay := int(24 * time.Hour / *step)
	w.WriteString("series,timestamp,value\n")
	for s := 0; s < *series; s++ {
		rng := rand.New(rand.NewPCG(*seed, uint64(s)))
		amp := 50 + 100*rng.Float64()
		shift := rng.IntN(perDay / 4)
		holiday := perDay * (7 + rng.IntN(max(1, *points/perDay-8)))
		name := fmt.Sprintf("svc-%04d", s)
		for i := 0; i < *points; i++ {
			j := i
			if i >= holiday && i < holiday+perDay {
				j = i%perDay + perDay*7
			}
			v := amp * shape(j+shift, perDay) / 100 * (1 + 0.08*rng.NormFloat64())
			switch {
			case rng.Float64() < 0.002:
				v *= 5
			case rng.Float64() < 0.01:
				continue
			}
			w.WriteString(name)
			w.WriteByte(',')
			w.WriteString(start.Add(time.Duration(i) * *step).Format(time.RFC3339))
			w.WriteByte(',')
			w.WriteString(strconv.FormatFloat(math.Max(0, v), 'f', 3, 64))
			w.WriteByte('\n')
		}
	}
}

// shape is the noiseless load at point i: the forecast tests' weekly template.
func shape(i, perDay int) float64 {
	day := (i / perDay) % 7
	slot := i % perDay
	v := 100 + 60*math.Sin(2*math.Pi*float64(slot)/float64(perDay))
	if slot > perDay/3 && slot < perDay/2 {
		v += 40
	}
	if day == 0 || day == 6 {
		v *= 0.5
	}
	return v
}
