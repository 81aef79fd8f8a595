package scaling

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func intp(v int) *int         { return &v }
func i32p(v int32) *int32     { return &v }
func f64p(v float64) *float64 { return &v }

func TestValidateServiceName(t *testing.T) {
	tests := []struct {
		name  string
		input string
		ok    bool
	}{
		{"simple", "coordinator", true},
		{"with dash and digits", "mobile-optimization-2", true},
		{"single char", "a", true},
		{"63 chars", "a23456789012345678901234567890123456789012345678901234567890123", true},
		{"64 chars", "a234567890123456789012345678901234567890123456789012345678901234", false},
		{"empty", "", false},
		{"upper case", "Coordinator", false},
		{"leading dash", "-web", false},
		{"trailing dash", "web-", false},
		{"dot", "web.api", false},
		{"slash", "web/api", false},
		{"unicode", "wéb", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateServiceName("service", tc.input)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, "service", fe.Field)
		})
	}
}

func TestPatternValidate(t *testing.T) {
	valid := func() Pattern {
		return Pattern{Service: "coordinator", PatternType: PatternWeekly, TimeWindows: []TimeWindow{
			{DayOfWeek: intp(1), HourOfDay: 9, ExpectedLoad: 0.8},
			{DayOfWeek: intp(5), HourOfDay: 16, ExpectedLoad: 0.9},
		}}
	}
	tests := []struct {
		name      string
		mutate    func(p *Pattern)
		wantField string // "" means valid
	}{
		{"valid weekly", func(p *Pattern) {}, ""},
		{"valid daily without day", func(p *Pattern) {
			p.PatternType = PatternDaily
			p.TimeWindows = []TimeWindow{{HourOfDay: 9, ExpectedLoad: 0.5}}
		}, ""},
		{"daily keeps seed's dayOfWeek", func(p *Pattern) { p.PatternType = PatternDaily }, ""},
		{"empty windows allowed", func(p *Pattern) { p.TimeWindows = []TimeWindow{} }, ""},
		{"bounds inclusive", func(p *Pattern) {
			p.TimeWindows = []TimeWindow{{DayOfWeek: intp(0), HourOfDay: 0, ExpectedLoad: 0}, {DayOfWeek: intp(6), HourOfDay: 23, ExpectedLoad: 1}}
		}, ""},
		{"timezone", func(p *Pattern) { p.Timezone = "Europe/Berlin" }, ""},
		{"bad name", func(p *Pattern) { p.Service = "Bad_Name" }, "service"},
		{"missing type", func(p *Pattern) { p.PatternType = "" }, "patternType"},
		{"unknown type", func(p *Pattern) { p.PatternType = "monthly" }, "patternType"},
		{"bad source", func(p *Pattern) { p.Source = "guessed" }, "source"},
		{"bad timezone", func(p *Pattern) { p.Timezone = "Mars/Olympus" }, "timezone"},
		{"local timezone", func(p *Pattern) { p.Timezone = "Local" }, "timezone"},
		{"missing windows", func(p *Pattern) { p.TimeWindows = nil }, "timeWindows"},
		{"day too big", func(p *Pattern) { p.TimeWindows[1].DayOfWeek = intp(7) }, "timeWindows[1].dayOfWeek"},
		{"day negative", func(p *Pattern) { p.TimeWindows[0].DayOfWeek = intp(-1) }, "timeWindows[0].dayOfWeek"},
		{"weekly without day", func(p *Pattern) { p.TimeWindows[0].DayOfWeek = nil }, "timeWindows[0].dayOfWeek"},
		{"hour 24", func(p *Pattern) { p.TimeWindows[0].HourOfDay = 24 }, "timeWindows[0].hourOfDay"},
		{"hour negative", func(p *Pattern) { p.TimeWindows[0].HourOfDay = -1 }, "timeWindows[0].hourOfDay"},
		{"load above 1", func(p *Pattern) { p.TimeWindows[0].ExpectedLoad = 1.01 }, "timeWindows[0].expectedLoad"},
		{"load negative", func(p *Pattern) { p.TimeWindows[0].ExpectedLoad = -0.1 }, "timeWindows[0].expectedLoad"},
		{"duplicate weekly window", func(p *Pattern) {
			p.TimeWindows = append(p.TimeWindows, TimeWindow{DayOfWeek: intp(1), HourOfDay: 9, ExpectedLoad: 0.1})
		}, "timeWindows[2]"},
		{"duplicate daily hour on different days", func(p *Pattern) {
			p.PatternType = PatternDaily
			p.TimeWindows[1].HourOfDay = 9
		}, "timeWindows[1]"},
		{"too many windows", func(p *Pattern) {
			p.TimeWindows = make([]TimeWindow, MaxTimeWindows+1)
		}, "timeWindows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.mutate(&p)
			err := p.Validate()
			if tc.wantField == "" {
				require.NoError(t, err)
				return
			}
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.wantField, fe.Field, "error: %v", err)
		})
	}
}

func TestDependencyValidate(t *testing.T) {
	tests := []struct {
		name      string
		dep       Dependency
		wantField string
	}{
		{"proportional", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyProportional, Ratio: f64p(0.5)}, ""},
		{"fixed zero", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyFixed, Replicas: i32p(0)}, ""},
		{"minimum", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyMinimum, MinReplicas: i32p(3)}, ""},
		{"bad source", Dependency{SourceService: "A", TargetService: "b", DependencyType: DependencyFixed, Replicas: i32p(1)}, "sourceService"},
		{"bad target", Dependency{SourceService: "a", TargetService: "", DependencyType: DependencyFixed, Replicas: i32p(1)}, "targetService"},
		{"missing type", Dependency{SourceService: "a", TargetService: "b"}, "dependencyType"},
		{"unknown type", Dependency{SourceService: "a", TargetService: "b", DependencyType: "linear"}, "dependencyType"},
		{"ratio missing", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyProportional}, "ratio"},
		{"ratio zero", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyProportional, Ratio: f64p(0)}, "ratio"},
		{"ratio negative", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyProportional, Ratio: f64p(-1)}, "ratio"},
		{"ratio huge", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyProportional, Ratio: f64p(1e9)}, "ratio"},
		{"proportional with replicas", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyProportional, Ratio: f64p(1), Replicas: i32p(2)}, "replicas"},
		{"fixed missing", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyFixed}, "replicas"},
		{"fixed negative", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyFixed, Replicas: i32p(-1)}, "replicas"},
		{"fixed with ratio", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyFixed, Replicas: i32p(1), Ratio: f64p(1)}, "ratio"},
		{"minimum missing", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyMinimum}, "minReplicas"},
		{"minimum negative", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyMinimum, MinReplicas: i32p(-2)}, "minReplicas"},
		// Regression tests for issue 11, item 1: 2147483647 was accepted and became a floor.
		{"fixed at the cap", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyFixed, Replicas: i32p(MaxDependencyReplicas)}, ""},
		{"fixed above the cap", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyFixed, Replicas: i32p(2147483647)}, "replicas"},
		{"minimum above the cap", Dependency{SourceService: "a", TargetService: "b", DependencyType: DependencyMinimum, MinReplicas: i32p(MaxDependencyReplicas + 1)}, "minReplicas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.dep.Validate()
			if tc.wantField == "" {
				require.NoError(t, err)
				return
			}
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.wantField, fe.Field, "error: %v", err)
		})
	}
}

func TestFindCycle(t *testing.T) {
	dep := func(s, t string) Dependency {
		return Dependency{SourceService: s, TargetService: t, DependencyType: DependencyMinimum, MinReplicas: i32p(1)}
	}
	tests := []struct {
		name     string
		existing []Dependency
		add      Dependency
		want     []string // nil: no cycle
	}{
		{"empty graph", nil, dep("a", "b"), nil},
		{"self", nil, dep("a", "a"), []string{"a", "a"}},
		{"two cycle", []Dependency{dep("b", "a")}, dep("a", "b"), []string{"a", "b", "a"}},
		{"three cycle", []Dependency{dep("b", "c"), dep("c", "a")}, dep("a", "b"), []string{"a", "b", "c", "a"}},
		{"chain no cycle", []Dependency{dep("a", "b"), dep("b", "c")}, dep("a", "c"), nil},
		{"diamond no cycle", []Dependency{dep("a", "b"), dep("a", "c"), dep("b", "d")}, dep("c", "d"), nil},
		{"replacing itself is not a cycle", []Dependency{dep("a", "b")}, dep("a", "b"), nil},
		{"disabled edge still counts", []Dependency{{SourceService: "b", TargetService: "a", DependencyType: DependencyFixed, Replicas: i32p(1), Enabled: false}}, dep("a", "b"), []string{"a", "b", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FindCycle(tc.existing, tc.add)
			if tc.want == nil {
				require.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			require.Equal(t, tc.want, got.Path)
			require.True(t, errors.Is(got, ErrCycle))
		})
	}
}
