package scaling

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultLeadTimeSeconds is a service's lead time when the services file gives none: a pod
// start plus margin on a typical cluster.
const DefaultLeadTimeSeconds = 300

// DefaultPodStartup is the time from a new pod to a ready one taken for a service with the
// default lead time (pod start plus margin) when the services file gives none; a service with
// another lead time is taken to start its pods in the same share of it (PodStartup), since a
// longer lead time is mostly set for slower pods. Calibration replays the HPA with it, and
// simulate's pods start in as long. It used to be half the lead time, 2m30s by default:
// replaying the shared tweet traces with pods ready in 2 minutes, calibration assuming 2m30s
// removed a median 9.3 % of the shortfall, against 13.2 % assuming the pods' own start-up.
const DefaultPodStartup = 2 * time.Minute

// PodStartup is the service's pod start-up: its own, or DefaultPodStartup's share of the
// default lead time applied to its lead time (2 minutes of 5, 4 of 10), in whole seconds.
// Calibration replays a start-up measured on the pods instead where the file gives none and
// they can be measured.
func (m ManagedService) PodStartup() time.Duration {
	if m.PodStartupSeconds > 0 {
		return LeadTime(m.PodStartupSeconds)
	}
	share := float64(DefaultPodStartup) / float64(DefaultLeadTimeSeconds*time.Second)
	return time.Duration(float64(LeadTime(m.LeadTimeSeconds)) * share).Round(time.Second)
}

// DefaultQuantile is the quantile provisioned for when the services file gives none.
const DefaultQuantile = 0.9

// MaxLeadTime bounds a service's lead time. A floor for a peak is read from the prediction
// the lead time ahead, and a prediction runs forecaster.DefaultHorizon (24h; serve has no
// setting for a longer one): a longer lead reads past its end and plans nothing. Bounding it
// here also keeps time.Duration(LeadTimeSeconds)*time.Second from overflowing (a negative
// lead) wherever the seconds are turned into a duration.
const MaxLeadTime = 24 * time.Hour

// LeadTime is seconds as a duration, held within [0, MaxLeadTime] so that a value that did not
// come through ParseServices can neither overflow nor go negative.
func LeadTime(seconds int64) time.Duration {
	return time.Duration(min(max(seconds, 0), int64(MaxLeadTime/time.Second))) * time.Second
}

// LineError is one problem in the services file, at a 1-based line.
type LineError struct {
	Line int
	// Field is the path of the bad field, e.g. services[2].capacityPerReplica.
	Field string
	Msg   string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// ServicesError lists every problem found in a services file, in line order.
type ServicesError struct {
	Errs []*LineError
}

func (e *ServicesError) Error() string {
	parts := make([]string, len(e.Errs))
	for i, le := range e.Errs {
		parts[i] = le.Error()
	}
	return "invalid services file: " + strings.Join(parts, "; ")
}

// Unwrap lets errors.As find each LineError.
func (e *ServicesError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, le := range e.Errs {
		out[i] = le
	}
	return out
}

var (
	serviceFields = []string{"name", "namespace", "hpa", "query", "capacityPerReplica", "leadTimeSeconds", "leadTime", "podStartup", "quantile", "budget", "availabilityTarget"}
	dns1123Sub    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// ParseServices reads the services file (SERVICES_FILE):
//
//	services:
//	  - name: checkout            # DNS-1123 label, unique
//	    namespace: shop           # required
//	    hpa: checkout-hpa         # optional, defaults to name; one service per HPA
//	    query: sum(rate(http_requests_total{service="checkout"}[5m]))
//	    capacityPerReplica: 50    # load one replica carries at its HPA target, > 0
//	    leadTime: 5m              # or leadTimeSeconds: 300; default 300, at most 24h
//	    podStartup: 90s           # new pod to ready, > 0, at most 24h; default 2/5 of the lead time (2m)
//	    quantile: 0.9             # in (0, 1); default 0.9
//	    budget: 0.1               # extra replica-hours floors may cost over a reactive HPA, > 0; default 0.1
//	    availabilityTarget: 0.999 # or, instead of budget: share of minutes without a shortfall, in (0, 1)
//
// It reports every problem with its line (a *ServicesError), not only the first, so an
// operator fixes the file in one go. Defaults are filled in on the returned services.
func ParseServices(data []byte) ([]ManagedService, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid services file: %w", err)
	}
	p := &servicesParser{}
	// A second document was read by nobody: its services vanished without a word, and a
	// broken one was accepted.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("invalid services file: %w", err)
	default:
		p.add(max(next.Line, 1), "", `a second YAML document ("---"): the file holds one services list`)
		return nil, p.err()
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.add(1, "", `missing "services" list`)
		return nil, p.err()
	}
	// Anchors, aliases and merge keys would each need resolving (and their duplicates
	// finding); read as written they gave misleading errors ("must be a string" for an alias
	// of one). One clear refusal instead.
	if n := aliasOrMerge(doc.Content[0]); n != nil {
		p.add(n.Line, "", "YAML anchors, aliases and merge keys (&, *, <<) are not supported: write each value out")
		return nil, p.err()
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, "", "must be a mapping with a \"services\" list")
		return nil, p.err()
	}
	var list, listKey *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "services" {
			p.add(k.Line, k.Value, `unknown field (the file holds only "services")`)
			continue
		}
		// Decoding into a yaml.Node keeps every key, and the last would win silently: a second
		// list would drop the first one's services.
		if listKey != nil {
			p.add(k.Line, k.Value, fmt.Sprintf("duplicate field (first at line %d)", listKey.Line))
			continue
		}
		list, listKey = v, k
	}
	if list == nil {
		p.add(root.Line, "", `missing "services" list`)
		return nil, p.err()
	}
	if list.Kind != yaml.SequenceNode {
		if list.Tag == "!!null" {
			if err := p.err(); err != nil {
				return nil, err // found by FuzzParseServices: an empty list came back with the error
			}
			return []ManagedService{}, nil
		}
		p.add(list.Line, "services", "must be a list")
		return nil, p.err()
	}
	out := make([]ManagedService, 0, len(list.Content))
	owners := owners{names: map[string]owner{}, hpas: map[string]owner{}}
	for i, item := range list.Content {
		path := fmt.Sprintf("services[%d]", i)
		svc, ok := p.service(path, item)
		// Entries with other errors take part too: the file promises every problem in one go,
		// and a duplicate is a problem of its own, not fixed by fixing the other field.
		if le := owners.claim(path, svc, item); le != nil {
			p.errs = append(p.errs, le)
			continue
		}
		if ok {
			out = append(out, svc)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// aliasOrMerge is the first node at or under n that is an alias, carries an anchor or is a
// merge key, or nil.
func aliasOrMerge(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || (n.Kind == yaml.ScalarNode && n.Tag == "!!merge") {
		return n
	}
	for _, c := range n.Content {
		if found := aliasOrMerge(c); found != nil {
			return found
		}
	}
	return nil
}

// owner is the first entry that claimed a service name or an HPA.
type owner struct {
	path, name string
	line       int
}

// owners tracks which entry owns each service name and each HPA (namespace/name): the floor
// of an HPA is its spec.minReplicas, so two services on one HPA would overwrite each other's.
type owners struct {
	names, hpas map[string]owner
}

// claim records svc (the entry at path, from node n) as the owner of its name and its HPA, or
// says which earlier entry owns them. An entry whose name or namespace did not decode claims
// nothing it cannot name.
func (o owners) claim(path string, svc ManagedService, n *yaml.Node) *LineError {
	if svc.Name == "" {
		return nil
	}
	if first, dup := o.names[svc.Name]; dup {
		return &LineError{Line: keyLine(n, "name"), Field: path + ".name",
			Msg: fmt.Sprintf("duplicate service %q (first defined at line %d)", svc.Name, first.line)}
	}
	o.names[svc.Name] = owner{path: path, name: svc.Name, line: n.Line}
	if svc.Namespace == "" {
		return nil
	}
	hpa := svc.Namespace + "/" + svc.HPAName()
	if first, dup := o.hpas[hpa]; dup {
		how := ""
		if svc.HPA == "" {
			how = " (the default: the service's name)"
		}
		return &LineError{Line: keyLine(n, "hpa"), Field: path + ".hpa",
			Msg: fmt.Sprintf("HPA %s%s is already the target of service %q (%s, line %d); an HPA takes its floor from one service",
				hpa, how, first.name, first.path, first.line)}
	}
	o.hpas[hpa] = owner{path: path, name: svc.Name, line: n.Line}
	return nil
}

// keyLine is the line of key in mapping n, or n's line when it is absent (or n no mapping).
func keyLine(n *yaml.Node, key string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	return n.Line
}

type servicesParser struct {
	errs []*LineError
}

func (p *servicesParser) add(line int, field, msg string) {
	p.errs = append(p.errs, &LineError{Line: line, Field: field, Msg: msg})
}

func (p *servicesParser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	return &ServicesError{Errs: p.errs}
}

func (p *servicesParser) service(path string, n *yaml.Node) (ManagedService, bool) {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, path, "must be a mapping of name, namespace, hpa, query, capacityPerReplica, leadTime, podStartup, quantile, budget, availabilityTarget")
		return ManagedService{}, false
	}
	before := len(p.errs)
	var (
		svc                     ManagedService
		seen                    = map[string]*yaml.Node{}
		leadTime, podStartup    string
		hasQuantile, hasCap     bool
		hasBudget, hasAvail     bool
		hasLeadSecs, hasLeadDur bool
		hasPodStartup           bool
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := path + "." + k.Value
		if first, dup := seen[k.Value]; dup {
			p.add(k.Line, f, fmt.Sprintf("duplicate field (first at line %d)", first.Line))
			continue
		}
		seen[k.Value] = k
		decode := func(into any, what string) bool {
			if v.Kind != yaml.ScalarNode || v.Decode(into) != nil {
				p.add(v.Line, f, "must be "+what)
				return false
			}
			return true
		}
		switch k.Value {
		case "name":
			decode(&svc.Name, "a string")
		case "namespace":
			decode(&svc.Namespace, "a string")
		case "hpa":
			decode(&svc.HPA, "a string")
		case "query":
			decode(&svc.Query, "a string")
		case "capacityPerReplica":
			hasCap = decode(&svc.CapacityPerReplica, "a number")
		case "leadTimeSeconds":
			hasLeadSecs = decode(&svc.LeadTimeSeconds, "a whole number of seconds")
		case "leadTime":
			hasLeadDur = decode(&leadTime, `a duration such as "5m"`)
		case "podStartup":
			hasPodStartup = decode(&podStartup, `a duration such as "90s"`)
		case "quantile":
			hasQuantile = decode(&svc.Quantile, "a number")
		case "budget":
			hasBudget = decode(&svc.Budget, "a number")
		case "availabilityTarget":
			hasAvail = decode(&svc.AvailabilityTarget, "a number")
		default:
			p.add(k.Line, f, "unknown field (known: "+strings.Join(serviceFields, ", ")+")")
		}
	}
	line := func(field string) int {
		if k, ok := seen[field]; ok {
			return k.Line
		}
		return n.Line
	}
	check := func(field string, err error) {
		if err == nil {
			return
		}
		msg := err.Error()
		var fe *FieldError
		if errors.As(err, &fe) {
			msg = fe.Msg
		}
		p.add(line(field), path+"."+field, msg)
	}
	if _, ok := seen["name"]; !ok {
		p.add(n.Line, path+".name", "is required")
	} else {
		check("name", ValidateServiceName("name", svc.Name))
	}
	if _, ok := seen["namespace"]; !ok {
		p.add(n.Line, path+".namespace", "is required")
	} else {
		check("namespace", ValidateServiceName("namespace", svc.Namespace))
	}
	if svc.HPA != "" && (len(svc.HPA) > 253 || !dns1123Sub.MatchString(svc.HPA)) {
		p.add(line("hpa"), path+".hpa", fmt.Sprintf("must be a Kubernetes object name (DNS-1123 subdomain), got %q", svc.HPA))
	}
	if strings.TrimSpace(svc.Query) == "" {
		p.add(line("query"), path+".query", "is required (a PromQL expression returning one series)")
	}
	if !hasCap {
		if _, ok := seen["capacityPerReplica"]; !ok {
			p.add(n.Line, path+".capacityPerReplica", "is required (load one replica carries at its HPA target)")
		}
	} else if c := svc.CapacityPerReplica; math.IsNaN(c) || math.IsInf(c, 0) || c <= 0 {
		p.add(line("capacityPerReplica"), path+".capacityPerReplica", fmt.Sprintf("must be greater than 0, got %v", c))
	}
	switch {
	case hasLeadSecs && hasLeadDur:
		p.add(line("leadTime"), path+".leadTime", "set leadTime or leadTimeSeconds, not both")
	case hasLeadDur:
		d, err := time.ParseDuration(leadTime)
		switch {
		case err != nil || d < 0 || d%time.Second != 0:
			p.add(line("leadTime"), path+".leadTime", fmt.Sprintf("must be a non-negative whole-second duration such as \"5m\", got %q", leadTime))
		case d > MaxLeadTime:
			p.add(line("leadTime"), path+".leadTime", fmt.Sprintf("must be at most %s (a prediction's horizon), got %q", maxLeadText, leadTime))
		default:
			svc.LeadTimeSeconds = int64(d / time.Second)
		}
	case hasLeadSecs:
		if s := svc.LeadTimeSeconds; s < 0 || s > int64(MaxLeadTime/time.Second) {
			p.add(line("leadTimeSeconds"), path+".leadTimeSeconds", fmt.Sprintf("must be between 0 and %d (%s, a prediction's horizon), got %d",
				int64(MaxLeadTime/time.Second), maxLeadText, s))
		}
	default:
		if _, a := seen["leadTime"]; !a {
			if _, b := seen["leadTimeSeconds"]; !b {
				svc.LeadTimeSeconds = DefaultLeadTimeSeconds
			}
		}
	}
	if hasPodStartup {
		switch d, err := time.ParseDuration(podStartup); {
		case err != nil || d <= 0 || d%time.Second != 0:
			p.add(line("podStartup"), path+".podStartup", fmt.Sprintf("must be a positive whole-second duration such as \"90s\", got %q", podStartup))
		case d > MaxLeadTime:
			p.add(line("podStartup"), path+".podStartup", fmt.Sprintf("must be at most %s, got %q", maxLeadText, podStartup))
		default:
			svc.PodStartupSeconds = int64(d / time.Second)
		}
	}
	if hasQuantile {
		if q := svc.Quantile; math.IsNaN(q) || q <= 0 || q >= 1 {
			p.add(line("quantile"), path+".quantile", fmt.Sprintf("must be between 0 and 1 (exclusive), got %v", q))
		}
	} else if _, ok := seen["quantile"]; !ok {
		svc.Quantile = DefaultQuantile
	}
	switch {
	case hasBudget && hasAvail:
		p.add(line("availabilityTarget"), path+".availabilityTarget", "set budget or availabilityTarget, not both")
	case hasBudget:
		if b := svc.Budget; math.IsNaN(b) || math.IsInf(b, 0) || b <= 0 {
			p.add(line("budget"), path+".budget", fmt.Sprintf("must be greater than 0 (a share of replica-hours: 0.1 is 10 %%), got %v", b))
		}
	case hasAvail:
		if a := svc.AvailabilityTarget; math.IsNaN(a) || a <= 0 || a >= 1 {
			p.add(line("availabilityTarget"), path+".availabilityTarget", fmt.Sprintf("must be between 0 and 1 (exclusive), got %v", a))
		}
	}
	return svc, len(p.errs) == before
}

// maxLeadText is MaxLeadTime as the file would write it ("24h", not "24h0m0s").
var maxLeadText = fmt.Sprintf("%gh", MaxLeadTime.Hours())
