// Command replaytable prints the table of hack/replay.sh from the JSON reports of `kai-scaler
// simulate` named on its command line: per trace, the share of the reactive HPA's
// under-provisioned replica-minutes the floors removed (and of those within max replicas),
// the replica-hours they added, their scale events and the pods they started against the
// reactive HPA's, and the settings calibration chose most often; then the medians (over all, and over the traces named
// by -group), and the traces over the budget.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// report is the part of simulate's JSON report the table reads.
type report struct {
	Parameters struct {
		Budget float64 `json:"budget"`
	} `json:"parameters"`
	Reactive, Predictive struct {
		UnderProvisionedReplicaMinutes float64 `json:"underProvisionedReplicaMinutes"`
		ScaleUps                       int     `json:"scaleUps"`
		ScaleDowns                     int     `json:"scaleDowns"`
		PodsStarted                    int     `json:"podsStarted"`
	}
	Reduction              float64 `json:"underProvisionedReduction"`
	Increase               float64 `json:"replicaHoursIncrease"`
	ProvisionableReduction float64 `json:"provisionableUnderProvisionedReduction"`
	Calibration            *struct {
		MostFrequent string `json:"mostFrequent"`
	} `json:"calibration"`
}

func main() {
	group := flag.String("group", "", "comma-separated parts of the names of traces whose medians are also printed apart (twitter: the ten tweet traces)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: replaytable [-group PARTS] REPORT.json...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := printTable(os.Stdout, flag.Args(), *group); err != nil {
		fmt.Fprintln(os.Stderr, "replaytable:", err)
		os.Exit(1)
	}
}

// column is one measure per trace, all traces' and the group's.
type column struct{ all, group []float64 }

func (c *column) add(v float64, inGroup bool) {
	c.all = append(c.all, v)
	if inGroup {
		c.group = append(c.group, v)
	}
}

func printTable(w io.Writer, files []string, group string) error {
	var reds, within, incs, events, pods column
	var over, short []string
	fmt.Fprintln(w, "| trace | shortfall (within max) | replica-hours | events / reactive | pods started / reactive | most frequent settings |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		ev := ratio(r.Predictive.ScaleUps+r.Predictive.ScaleDowns, r.Reactive.ScaleUps+r.Reactive.ScaleDowns)
		started := ratio(r.Predictive.PodsStarted, r.Reactive.PodsStarted)
		settings := "(planner defaults)"
		if r.Calibration != nil {
			settings = r.Calibration.MostFrequent
		}
		fmt.Fprintf(w, "| %s | %s (%s) | %+.2f %% | %.2f | %.2f | %s |\n", name, percent(-r.Reduction), percent(-r.ProvisionableReduction), 100*r.Increase, ev, started, settings)
		in := inGroup(name, group)
		reds.add(-r.Reduction, in)
		within.add(-r.ProvisionableReduction, in)
		incs.add(r.Increase, in)
		events.add(ev, in)
		pods.add(started, in)
		if r.Parameters.Budget > 0 && r.Increase > r.Parameters.Budget {
			over = append(over, name)
		}
		if r.Predictive.UnderProvisionedReplicaMinutes > r.Reactive.UnderProvisionedReplicaMinutes {
			short = append(short, name)
		}
	}
	fmt.Fprintln(w)
	medians := func(what string, reds, within, incs, events, pods []float64) {
		fmt.Fprintf(w, "median over %s (%d): shortfall %s (within max %s), replica-hours %+.2f %%, events / reactive %.2f, pods started / reactive %.2f; highest replica-hours %+.2f %%, pods started / reactive %.2f\n",
			what, len(reds), percent(median(reds)), percent(median(within)), 100*median(incs), median(events), median(pods), 100*slices.Max(incs), slices.Max(pods))
	}
	medians("all traces", reds.all, within.all, incs.all, events.all, pods.all)
	if len(reds.group) > 0 {
		medians(group, reds.group, within.group, incs.group, events.group, pods.group)
	}
	if len(over) > 0 {
		fmt.Fprintf(w, "over the budget: %s\n", strings.Join(over, ", "))
	} else {
		fmt.Fprintln(w, "the budget held on every trace")
	}
	if len(short) > 0 {
		fmt.Fprintf(w, "short more than the reactive HPA: %s\n", strings.Join(short, ", "))
	}
	return nil
}

// ratio is the predictive run's count p over the reactive run's q (1 when both are 0).
func ratio(p, q int) float64 {
	if q == 0 {
		if p == 0 {
			return 1
		}
		return float64(p)
	}
	return float64(p) / float64(q)
}

// inGroup reports whether name holds one of group's comma-separated parts.
func inGroup(name, group string) bool {
	for part := range strings.SplitSeq(group, ",") {
		if part != "" && strings.Contains(name, part) {
			return true
		}
	}
	return false
}

func percent(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%+.1f %%", 100*v)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
