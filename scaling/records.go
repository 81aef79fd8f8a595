package scaling

// PatternType says how a load pattern's windows recur.
type PatternType string

const (
	// PatternDaily windows recur every day; their dayOfWeek is ignored.
	PatternDaily PatternType = "daily"
	// PatternWeekly windows recur on their dayOfWeek (0 = Sunday).
	PatternWeekly PatternType = "weekly"
)

// PatternSource says who wrote a load pattern.
type PatternSource string

const (
	// SourceManual patterns are written through the API; the forecaster never overwrites them.
	SourceManual PatternSource = "manual"
	// SourceDerived patterns are written by the forecaster from a fitted model.
	SourceDerived PatternSource = "derived"
)

// TimeWindow is one hour of a load pattern in which the service expects ExpectedLoad,
// a fraction (0–1) of its full capacity (HPA maxReplicas × capacity per replica).
type TimeWindow struct {
	// DayOfWeek is 0–6 with 0 = Sunday; nil (absent) in daily patterns.
	DayOfWeek    *int    `json:"dayOfWeek,omitempty"`
	HourOfDay    int     `json:"hourOfDay"`
	ExpectedLoad float64 `json:"expectedLoad"`
}

// Pattern is a service load pattern.
type Pattern struct {
	Service     string       `json:"service"`
	PatternType PatternType  `json:"patternType"`
	TimeWindows []TimeWindow `json:"timeWindows"`
	// Timezone is an IANA name in which dayOfWeek and hourOfDay are read; empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// Source is manual (API) or derived (forecaster); empty is read as manual.
	Source      PatternSource `json:"source,omitempty"`
	LastUpdated int64         `json:"lastUpdated"`
}

// DependencyType says how a dependency's target follows its source.
type DependencyType string

const (
	// DependencyProportional keeps target replicas at ceil(source replicas × Ratio).
	DependencyProportional DependencyType = "proportional"
	// DependencyFixed keeps target replicas at Replicas while the source is scaled above its base.
	DependencyFixed DependencyType = "fixed"
	// DependencyMinimum keeps target replicas at least MinReplicas.
	DependencyMinimum DependencyType = "minimum"
)

// Dependency is a cross-service scaling dependency from SourceService to TargetService.
// Exactly the parameter of its type is set: Ratio, Replicas or MinReplicas.
type Dependency struct {
	SourceService  string         `json:"sourceService"`
	TargetService  string         `json:"targetService"`
	DependencyType DependencyType `json:"dependencyType"`
	Ratio          *float64       `json:"ratio,omitempty"`
	Replicas       *int32         `json:"replicas,omitempty"`
	MinReplicas    *int32         `json:"minReplicas,omitempty"`
	Enabled        bool           `json:"enabled"`
	LastUpdated    int64          `json:"lastUpdated"`
}

// Key identifies a dependency in a store.
func (d Dependency) Key() DependencyKey {
	return DependencyKey{Source: d.SourceService, Target: d.TargetService}
}

// DependencyKey is the (source, target) pair that identifies a dependency.
type DependencyKey struct {
	Source, Target string
}

// PredictionPoint is one horizon step of a prediction.
type PredictionPoint struct {
	Timestamp    int64   `json:"timestamp"`
	ExpectedLoad float64 `json:"expectedLoad"`
	// UpperLoad is the service's quantile (default 0.9) of the load at Timestamp.
	UpperLoad float64 `json:"upperLoad"`
	// RecommendedMinReplicas is the floor that carries UpperLoad, before clamping to the HPA's bounds.
	RecommendedMinReplicas int32 `json:"recommendedMinReplicas"`
}

// Prediction is one forecast of one service's load, as fitted at FittedAt.
type Prediction struct {
	Service string `json:"service"`
	// Model is the model chosen by backtest, e.g. "seasonal-naive-weekly".
	Model string `json:"model"`
	// ModelReason says why Model was chosen, notably when history was too short for others.
	ModelReason string  `json:"modelReason,omitempty"`
	FittedAt    int64   `json:"fittedAt"`
	ValidUntil  int64   `json:"validUntil"`
	StepSeconds int64   `json:"stepSeconds"`
	Quantile    float64 `json:"quantile"`
	// BacktestMASE and BacktestSMAPE are the chosen model's rolling-origin backtest errors.
	BacktestMASE  float64 `json:"backtestMase"`
	BacktestSMAPE float64 `json:"backtestSmape"`
	// BacktestCoverage is the share of backtest actuals at or below the upper bound.
	BacktestCoverage float64           `json:"backtestCoverage"`
	Points           []PredictionPoint `json:"points"`
	// Calibration is how the planner turns this prediction into a floor, chosen by replaying
	// the service's recent history through a simulated HPA; nil means the planner's defaults
	// (predictions written before calibration existed, or by hand).
	Calibration *Calibration `json:"calibration,omitempty"`
}

// FloorSettings say how the planner turns a prediction into a floor. The zero value of each
// field means the planner's default.
type FloorSettings struct {
	// Off means no floor from the prediction's loads: the service's floor is its pattern and
	// base only (floors did not pay for themselves on its recent history), and its surge floor
	// when SurgeSeconds is set.
	Off bool `json:"off,omitempty"`
	// BoundShare places the floor's load between the expected load (0) and the upper bound
	// (1): expected + BoundShare × (upper − expected), in [-1, 3]: above 1 it lies that many
	// times as far above the expected load as the bound (headroom for noise within the
	// forecast's step). Below 0 it lies as far under
	// the expected load (a low quantile: load that surely comes, which the HPA must not scale
	// below). Nil means 1, the upper bound.
	BoundShare *float64 `json:"boundShare,omitempty"`
	// LeadSeconds replaces the service's lead time when positive.
	LeadSeconds int64 `json:"leadSeconds,omitempty"`
	// NoiseMarginReplicas is the hysteresis, in replicas' capacity, by which the expected load
	// must climb to count as a rise; 0 means 1.
	NoiseMarginReplicas float64 `json:"noiseMarginReplicas,omitempty"`
	// RisesOnly leaves no floor outside the forecast's rises (flat and falling stretches are
	// the HPA's alone) instead of the expected load there.
	RisesOnly bool `json:"risesOnly,omitempty"`
	// BoundThroughout keeps the floor at the bound on flat and falling stretches as well, where
	// it is otherwise the expected load: headroom for the noise that the HPA lets through
	// within its tolerance and while its pods start. It costs replicas all day, so calibration
	// chooses it only where that noise is the shortfall and the budget pays for it. Ignored with
	// RisesOnly.
	BoundThroughout bool `json:"boundThroughout,omitempty"`
	// Interpolate reads the forecast between its points, as the load will pass: the floor
	// carries the highest load forecast over [now, now+lead] exactly, instead of the highest
	// point within a step either side, which on a coarse forecast rises a whole step early.
	Interpolate bool `json:"interpolate,omitempty"`
	// Tolerance is the HPA's tolerance the floor leaves room for: it provisions the load
	// divided by 1+Tolerance, where the HPA itself settles (it does not scale while usage is
	// within the tolerance of its target), so a floor does not hold the one replica more than
	// the HPA would. 0 means none.
	Tolerance float64 `json:"tolerance,omitempty"`
	// SmoothingPoints is the width of the centred moving average applied to the prediction's
	// loads before planning; 0 or 1 means none.
	SmoothingPoints int `json:"smoothingPoints,omitempty"`
	// SurgeSeconds, when positive, adds a surge floor beside the prediction's: while the
	// replicas the HPA's metric asks for have been rising over the last minutes, the floor
	// carries that rise on for SurgeSeconds (and for the age of the newest observation), so
	// the pods a surge no forecast foresaw will need are starting before the HPA asks for
	// them; once the rise stops, the floor comes down at once to what the metric asked for
	// over the last minutes. It acts with Off too (surge floors only). 0 means none.
	SurgeSeconds int64 `json:"surgeSeconds,omitempty"`
	// SurgeTolerance, when positive, lets the surge floor raise the floor only past the replicas
	// running (or the floor, where higher) times 1+SurgeTolerance (the HPA's tolerance): to
	// rises the HPA will answer itself, not to noise within its tolerance, which it lets by. On
	// flat noisy load a surge floor that answered every rise scaled the HPA six to eight times as
	// often as the reactive HPA. While the need rises within it, the floor is held, not raised.
	// 0 means every rise.
	SurgeTolerance float64 `json:"surgeTolerance,omitempty"`
	// HoldSeconds, when positive, is the floor's hysteresis in time: the floor from the
	// prediction comes down only as far as the highest floor the same prediction asks for
	// over the next HoldSeconds, so a dip the forecast sees coming back within that time does
	// not take replicas away only to add them again. It never raises a floor. 0 means none.
	HoldSeconds int64 `json:"holdSeconds,omitempty"`
	// StepDownAtOnce brings the floor down at once to what the plan asks, instead of by the
	// actuator's step-down policy. The HPA's own scale-down stabilization still keeps what its
	// metric asked for over its window, so what goes at once is only capacity no metric asked
	// for: on load whose peaks are short and recur (a job at the top of every hour), the
	// policy's gradual descent after each peak costs more than the floor saves before it.
	StepDownAtOnce bool `json:"stepDownAtOnce,omitempty"`
}

// FloorsOff reports whether the settings leave no floor of the prediction's making at all:
// neither from its loads nor from surges.
func (s FloorSettings) FloorsOff() bool { return s.Off && s.SurgeSeconds <= 0 }

// Calibration is the floor settings chosen for a service and the replay that chose them.
type Calibration struct {
	FloorSettings
	// Reason says in words why these settings were chosen (or why the defaults).
	Reason string `json:"reason"`
	// Budget is the extra replica-hours over the reactive replay allowed; AvailabilityTarget,
	// when set instead, the share of minutes without a shortfall aimed at.
	Budget             float64 `json:"budget,omitempty"`
	AvailabilityTarget float64 `json:"availabilityTarget,omitempty"`
	// PodStartupSeconds is how long the replayed pods took from start to ready, and
	// PodStartupSource where that came from (PodStartupFromServicesFile, PodStartupMeasured or
	// PodStartupDefault). Zero and empty where nothing was replayed.
	PodStartupSeconds int64  `json:"podStartupSeconds,omitempty"`
	PodStartupSource  string `json:"podStartupSource,omitempty"`
	// WindowMinutes is the replayed history; zero when there was too little to replay.
	WindowMinutes float64 `json:"windowMinutes"`
	// UnderProvisionedReduction and ReplicaHoursIncrease score the chosen settings against the
	// reactive replay of the same window (1 − chosen/reactive under-provisioned replica-minutes
	// within the HPA's max replicas, chosen/reactive replica-hours − 1).
	UnderProvisionedReduction float64 `json:"underProvisionedReduction"`
	ReplicaHoursIncrease      float64 `json:"replicaHoursIncrease"`
	// Candidates is how many settings were replayed.
	Candidates int `json:"candidates"`
}

// Where a calibration's pod start-up came from (Calibration.PodStartupSource).
const (
	// PodStartupFromServicesFile: the service's podStartup.
	PodStartupFromServicesFile = "services-file"
	// PodStartupMeasured: measured on the service's pods, from creation to ready.
	PodStartupMeasured = "measured"
	// PodStartupDefault: neither; two fifths of the lead time (ManagedService.PodStartup).
	PodStartupDefault = "default"
)

// EventType is the kind of an HPA scaling event.
type EventType string

const (
	EventScaleUp      EventType = "scale-up"
	EventScaleDown    EventType = "scale-down"
	EventNoScale      EventType = "no-scale"
	EventLimitedScale EventType = "limited-scale"
)

// EventTypes lists every event type, in the order the API documents them.
var EventTypes = []EventType{EventScaleUp, EventScaleDown, EventNoScale, EventLimitedScale}

// EventOutcome records whether a scaling event worked (see DESIGN.md, effectiveness).
type EventOutcome string

const (
	// OutcomePending: too early to tell.
	OutcomePending EventOutcome = ""
	// OutcomeEffective: the trigger metric returned within its threshold with no opposite scaling soon after.
	OutcomeEffective EventOutcome = "effective"
	// OutcomeIneffective: it did not.
	OutcomeIneffective EventOutcome = "ineffective"
)

// Event is one HPA scaling decision.
type Event struct {
	// ID identifies the decision so that seeing it twice (resync, restart, two sources) stores it once.
	ID              string    `json:"id"`
	Service         string    `json:"service"`
	Namespace       string    `json:"namespace,omitempty"`
	EventType       EventType `json:"eventType"`
	CurrentReplicas int32     `json:"currentReplicas"`
	DesiredReplicas int32     `json:"desiredReplicas"`
	// ActualReplicas is the count reached after the decision; nil until the scale settles.
	ActualReplicas   *int32  `json:"actualReplicas"`
	TriggerMetric    string  `json:"triggerMetric"`
	TriggerValue     float64 `json:"triggerValue"`
	TriggerThreshold float64 `json:"triggerThreshold"`
	// Reason carries the HPA condition reason (e.g. TooManyReplicas, ScaleDownStabilized).
	Reason    string       `json:"reason,omitempty"`
	Outcome   EventOutcome `json:"outcome,omitempty"`
	Timestamp int64        `json:"timestamp"`
}

// ManagedService is one entry of the services file (SERVICES_FILE).
type ManagedService struct {
	Name      string `json:"name" yaml:"name"`
	Namespace string `json:"namespace" yaml:"namespace"`
	// HPA is the name of the service's HorizontalPodAutoscaler; empty means Name.
	HPA string `json:"hpa,omitempty" yaml:"hpa"`
	// Query is the PromQL expression of the service's load; it must return one series.
	Query string `json:"query" yaml:"query"`
	// CapacityPerReplica is the load one replica carries at its HPA target.
	CapacityPerReplica float64 `json:"capacityPerReplica" yaml:"capacityPerReplica"`
	// LeadTimeSeconds is how long before a peak the floor must rise (pod start plus margin).
	LeadTimeSeconds int64 `json:"leadTimeSeconds" yaml:"leadTimeSeconds"`
	// PodStartupSeconds is the time from a new pod to a ready one, which calibration replays
	// the HPA with (the file's podStartup, a duration); 0 means measured on the service's
	// pods, or where they cannot be measured two fifths of the lead time (PodStartup).
	PodStartupSeconds int64 `json:"podStartupSeconds,omitempty" yaml:"-"`
	// Quantile is the upper quantile to provision for; 0 means 0.9.
	Quantile float64 `json:"quantile,omitempty" yaml:"quantile"`
	// Budget is the extra replica-hours over a reactive HPA that floors may cost on the
	// service's recent history (0.1 is 10 %); 0 means DefaultBudget.
	Budget float64 `json:"budget,omitempty" yaml:"budget"`
	// AvailabilityTarget, when set instead of Budget, is the share of minutes without a
	// shortfall the floors aim at, at the least cost.
	AvailabilityTarget float64 `json:"availabilityTarget,omitempty" yaml:"availabilityTarget"`
}

// HPAName returns the HPA's name, defaulting to the service name.
func (m ManagedService) HPAName() string {
	if m.HPA == "" {
		return m.Name
	}
	return m.HPA
}
