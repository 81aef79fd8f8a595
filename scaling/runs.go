package scaling

// RunState is the state of a forecast run or of one service within it.
type RunState string

const (
	RunQueued    RunState = "queued"
	RunRunning   RunState = "running"
	RunSucceeded RunState = "succeeded"
	// RunPartial: some services succeeded, some failed.
	RunPartial RunState = "partial"
	RunFailed  RunState = "failed"
	// RunAborted: the process running it was stopped (SIGTERM) before every service was
	// fitted; the run lock was released.
	RunAborted RunState = "aborted"
	// RunAbandoned: the process running it died without recording an end (its run lock had
	// expired); marked by another process on start.
	RunAbandoned RunState = "abandoned"
)

// Finished reports whether s is a final state of a run.
func (s RunState) Finished() bool { return s != RunQueued && s != RunRunning }

// ForecastRun is one run of the forecaster, scheduled or triggered through the API.
type ForecastRun struct {
	ID string `json:"id"`
	// Trigger is "schedule" or "manual".
	Trigger string `json:"trigger"`
	// Service is set when the run was asked for one service only.
	Service    string                  `json:"service,omitempty"`
	State      RunState                `json:"state"`
	QueuedAt   int64                   `json:"queuedAt"`
	StartedAt  int64                   `json:"startedAt,omitempty"`
	FinishedAt int64                   `json:"finishedAt,omitempty"`
	Results    []ServiceForecastResult `json:"results"`
}

// ServiceForecastResult is one service's outcome within a forecast run.
type ServiceForecastResult struct {
	Service     string   `json:"service"`
	State       RunState `json:"state"`
	Model       string   `json:"model,omitempty"`
	ModelReason string   `json:"modelReason,omitempty"`
	Error       string   `json:"error,omitempty"`
	DurationMs  int64    `json:"durationMs"`
	// Pattern is "derived" when a derived pattern was written, "kept-manual" when a manual one was kept.
	Pattern string `json:"pattern,omitempty"`
}

// EffectivenessReport answers GET /api/hpa-events/:service/effectiveness: the seed's service and
// effectiveness, and the window and counts behind the figure. Effectiveness is nil when no
// scaling event in the window has an outcome yet.
type EffectivenessReport struct {
	Service       string   `json:"service"`
	Effectiveness *float64 `json:"effectiveness"`
	Window        string   `json:"window"`
	WindowSeconds int64    `json:"windowSeconds"`
	Since         int64    `json:"since"`
	Until         int64    `json:"until"`
	// ScalingEvents counts scale-up, scale-down and limited-scale events in the window.
	ScalingEvents int `json:"scalingEvents"`
	Effective     int `json:"effective"`
	Ineffective   int `json:"ineffective"`
	Pending       int `json:"pending"`
}
