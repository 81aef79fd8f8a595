package scaling

import (
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Override is a scheduled floor for a known one-off event (a launch, a sale, a holiday): from
// Start (less the service's lead time, so the replicas are up when it starts) until End, the
// service's floor is at least MinReplicas, or ExpectedLoad × maxReplicas. Exactly one of the
// two is set. The planner combines it by max with every other contribution.
type Override struct {
	// ID is assigned by the server when the override is created.
	ID      string    `json:"id"`
	Service string    `json:"service"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// MinReplicas is the floor while the override is active.
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// ExpectedLoad is a fraction (0–1) of full capacity (maxReplicas × capacity per replica),
	// as in load patterns: the floor is ceil(ExpectedLoad × maxReplicas).
	ExpectedLoad *float64 `json:"expectedLoad,omitempty"`
	// Reason says what the event is; it is shown in every floor decision the override wins.
	Reason    string `json:"reason"`
	CreatedAt int64  `json:"createdAt"`
}

// Limits of an override.
const (
	// MaxOverrideReplicas bounds MinReplicas: far above any real HPA, far below what a typo
	// (an extra zero or three) would ask for.
	MaxOverrideReplicas = 10000
	// MaxOverrideAhead is how far ahead an override may end: one-off events are planned
	// months ahead, not years; recurring load belongs in a pattern.
	MaxOverrideAhead = 366 * 24 * time.Hour
	// MaxReasonLength bounds Reason, in characters.
	MaxReasonLength = 256
)

// Validate checks an override as written through the API at now. An override that has
// already ended is refused: it would never act and would be pruned at once.
func (o Override) Validate(now time.Time) error {
	if err := ValidateServiceName("service", o.Service); err != nil {
		return err
	}
	switch {
	case o.Start.IsZero():
		return fieldErr("start", "is required (an RFC 3339 time)")
	case o.End.IsZero():
		return fieldErr("end", "is required (an RFC 3339 time)")
	case !o.End.After(o.Start):
		return fieldErr("end", "must be after start (%s), got %s", o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339))
	case !o.End.After(now):
		return fieldErr("end", "must be in the future, got %s", o.End.UTC().Format(time.RFC3339))
	case o.End.After(now.Add(MaxOverrideAhead)):
		return fieldErr("end", "must be at most one year ahead (%s), got %s",
			now.Add(MaxOverrideAhead).UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339))
	}
	switch {
	case o.MinReplicas == nil && o.ExpectedLoad == nil:
		return fieldErr("minReplicas", "one of minReplicas or expectedLoad is required")
	case o.MinReplicas != nil && o.ExpectedLoad != nil:
		return fieldErr("expectedLoad", "give minReplicas or expectedLoad, not both")
	case o.MinReplicas != nil && (*o.MinReplicas < 1 || *o.MinReplicas > MaxOverrideReplicas):
		return fieldErr("minReplicas", "must be 1–%d, got %d", MaxOverrideReplicas, *o.MinReplicas)
	case o.ExpectedLoad != nil && (math.IsNaN(*o.ExpectedLoad) || *o.ExpectedLoad <= 0 || *o.ExpectedLoad > 1):
		return fieldErr("expectedLoad", "must be a fraction of full capacity greater than 0 and at most 1, got %v", *o.ExpectedLoad)
	}
	// Reason is shown in decision records, logs and the admin page: blank text says nothing,
	// and control characters (NUL, a terminal's escape sequences, line breaks that forge log
	// lines) have no place in one line of text.
	switch n := utf8.RuneCountInString(o.Reason); {
	case strings.TrimSpace(o.Reason) == "":
		return fieldErr("reason", "is required (what the event is)")
	case n > MaxReasonLength:
		return fieldErr("reason", "must be at most %d characters, got %d", MaxReasonLength, n)
	case !utf8.ValidString(o.Reason):
		return fieldErr("reason", "must be valid UTF-8")
	}
	for i, r := range []rune(o.Reason) {
		if unicode.IsControl(r) {
			return fieldErr("reason", "must not hold control characters, got %U at character %d", r, i+1)
		}
	}
	return nil
}

// ActiveAt reports whether the override holds its floor at now, given the service's lead time:
// from Start-lead until End (exclusive).
func (o Override) ActiveAt(now time.Time, lead time.Duration) bool {
	return !now.Before(o.Start.Add(-max(lead, 0))) && now.Before(o.End)
}

// DecisionContribution is one input to a floor decision.
type DecisionContribution struct {
	// Source is base, pattern, prediction, dependency:<service>, override, step-down, hold or max.
	Source string `json:"source"`
	Floor  int32  `json:"floor"`
	Detail string `json:"detail,omitempty"`
}

// DecisionSettings are the settings in force when a floor was decided, and why they were chosen.
type DecisionSettings struct {
	// LeadTimeSeconds and CapacityPerReplica come from the services file.
	LeadTimeSeconds    int64   `json:"leadTimeSeconds"`
	CapacityPerReplica float64 `json:"capacityPerReplica,omitempty"`
	// Quantile, Model and ModelReason are those of the prediction in force (absent without one).
	Quantile    float64 `json:"quantile,omitempty"`
	Model       string  `json:"model,omitempty"`
	ModelReason string  `json:"modelReason,omitempty"`
	// PredictionFittedAt identifies the prediction (Unix ms).
	PredictionFittedAt int64 `json:"predictionFittedAt,omitempty"`
	// BacktestCoverage is the share of backtest actuals at or below the prediction's upper bound.
	BacktestCoverage float64 `json:"backtestCoverage,omitempty"`
	// Calibration is how the planner turned that prediction into a floor and why those settings
	// were chosen (absent without a prediction, or for one stored without a calibration).
	Calibration *Calibration `json:"calibration,omitempty"`
}

// FloorDecision is one change of a service's floor, or in dry-run one change the scaler would
// have made: from what, to what, why (the winning contribution and every other), and the
// settings in force.
type FloorDecision struct {
	Service   string `json:"service"`
	Timestamp int64  `json:"timestamp"`
	From      int32  `json:"from"`
	To        int32  `json:"to"`
	// Reason is the winning contribution's source.
	Reason        string                 `json:"reason"`
	Contributions []DecisionContribution `json:"contributions"`
	// DryRun is true when the change was not written (DRY_RUN).
	DryRun   bool             `json:"dryRun"`
	Settings DecisionSettings `json:"settings"`
	// Summary is the decision in one line, as logged.
	Summary string `json:"summary"`
}

// ShadowDay is one service's dry-run counterfactual for one UTC day: what the floors the
// scaler would have set would have saved and cost against what the HPA actually did.
type ShadowDay struct {
	Service string `json:"service"`
	// Day is the UTC date, YYYY-MM-DD.
	Day string `json:"day"`
	// Samples and ObservedSeconds say how much of the day was observed.
	Samples         int     `json:"samples"`
	ObservedSeconds float64 `json:"observedSeconds"`
	// UnderprovisionedReplicaMinutes is Σ max(0, needed − ready) over time: replicas the
	// service lacked, as the HPA ran it (needed: the HPA metric's ask of the ready pods).
	UnderprovisionedReplicaMinutes float64 `json:"underprovisionedReplicaMinutes"`
	// UnderprovisionedReplicaMinutesWithFloors is the same with the would-be floors in force.
	UnderprovisionedReplicaMinutesWithFloors float64 `json:"underprovisionedReplicaMinutesWithFloors"`
	// UnderprovisionedReplicaMinutesSaved is the difference of the two.
	UnderprovisionedReplicaMinutesSaved float64 `json:"underprovisionedReplicaMinutesSaved"`
	// ExtraReplicaHours is Σ (max(running, floor) − running replicas) over time: what the
	// floors would have cost.
	ExtraReplicaHours float64 `json:"extraReplicaHours"`
	UpdatedAt         int64   `json:"updatedAt"`
}
