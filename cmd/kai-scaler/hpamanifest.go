package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/actuator/kube"
)

// hpaManifest is what simulate replays of a HorizontalPodAutoscaler manifest (--hpa).
type hpaManifest struct {
	// Name is metadata.name, for the log.
	Name string
	// MinReplicas is spec.minReplicas (1 where the manifest leaves it out), MaxReplicas
	// spec.maxReplicas.
	MinReplicas, MaxReplicas int32
	// Behavior is spec.behavior.
	Behavior actuator.Behavior
	// Metrics is how many spec.metrics the manifest lists: simulate replays none of them
	// (--capacity-per-replica stands for their target).
	Metrics int
}

// loadHPAManifest reads the manifest --hpa names (given is the flag's text as written); each
// error names the flag and the file, as the other flag errors do.
func loadHPAManifest(path, given string) (hpaManifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the flag's text names the file already
		}
		return hpaManifest{}, fmt.Errorf("--hpa %q: cannot be read: %w", given, err)
	}
	m, err := readHPAManifest(data)
	if err != nil {
		return hpaManifest{}, fmt.Errorf("--hpa %q: %w", given, err)
	}
	return m, nil
}

// readHPAManifest parses and validates an autoscaling/v2 HorizontalPodAutoscaler manifest,
// YAML or JSON, as `kubectl get hpa NAME -o yaml` prints it: an unknown field, a duplicated
// key, a value of the wrong type or out of the API server's bounds is an error naming its
// field path ("spec.behavior.scaleDown.policies[0].periodSeconds: 0 must be 1 to 1800").
func readHPAManifest(data []byte) (hpaManifest, error) {
	switch n := yamlDocuments(data); {
	case n == 0:
		return hpaManifest{}, errors.New("empty: want an autoscaling/v2 HorizontalPodAutoscaler manifest (kubectl get hpa NAME -o yaml)")
	case n > 1:
		return hpaManifest{}, fmt.Errorf("holds %d YAML documents: give the HorizontalPodAutoscaler alone (kubectl get hpa NAME -o yaml)", n)
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return hpaManifest{}, manifestError(err)
	}
	// Kind and version first: an autoscaling/v1 or v2beta1 manifest has fields v2 does not
	// know, and is better told it is v1 than that targetCPUUtilizationPercentage is unknown.
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		return hpaManifest{}, manifestError(err)
	}
	if err := checkHPAType(head.APIVersion, head.Kind); err != nil {
		return hpaManifest{}, err
	}
	// Decoded as the API server decodes (sigs.k8s.io/json): field names as written, an unknown
	// or duplicated field refused, named by its path.
	var hpa autoscalingv2.HorizontalPodAutoscaler
	strict, err := kjson.UnmarshalStrict(j, &hpa, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if errors.Is(err, resource.ErrFormatWrong) {
		// The quantity's own error names no field: it is found again by walking the manifest.
		at := "a tolerance or a metric's target"
		if path, value, ok := badQuantity(j); ok {
			at = fmt.Sprintf("%s: %s", path, value)
		}
		return hpaManifest{}, fmt.Errorf("%s is no quantity (e.g. 0.05, 500m, 2Gi): %w", at, err)
	}
	if err != nil {
		return hpaManifest{}, manifestError(err)
	}
	if len(strict) > 0 {
		// A field the replay would skip is one the engineer believes it replays (a misspelt
		// stabilizationWindowSeconds).
		return hpaManifest{}, errors.Join(strict...)
	}
	spec := hpa.Spec
	m := hpaManifest{Name: hpa.Name, MinReplicas: 1, MaxReplicas: spec.MaxReplicas, Metrics: len(spec.Metrics)}
	switch {
	case spec.MaxReplicas == 0:
		return hpaManifest{}, errors.New("spec.maxReplicas: must be set, 1 or more")
	case spec.MaxReplicas < 0:
		return hpaManifest{}, fmt.Errorf("spec.maxReplicas: %d must be 1 or more", spec.MaxReplicas)
	}
	if p := spec.MinReplicas; p != nil {
		if *p < 1 {
			// The API server takes 0 only behind the HPAScaleToZero feature gate.
			return hpaManifest{}, fmt.Errorf("spec.minReplicas: %d must be 1 or more (scaling to zero is not simulated)", *p)
		}
		m.MinReplicas = *p
	}
	if m.MinReplicas > m.MaxReplicas {
		return hpaManifest{}, fmt.Errorf("spec.minReplicas: %d must be at most spec.maxReplicas, %d", m.MinReplicas, m.MaxReplicas)
	}
	b, err := kube.BehaviorOf(spec.Behavior)
	if err != nil {
		return hpaManifest{}, fmt.Errorf("spec.%w", err) // BehaviorOf's paths start at "behavior."
	}
	m.Behavior = b
	return m, nil
}

// quantityFields are the keys of an HPA whose values are quantities: behavior's tolerances,
// and a metric's target and current value.
var quantityFields = map[string]bool{"tolerance": true, "value": true, "averageValue": true}

// badQuantity is the path of the first value of a quantity field in the manifest j (JSON),
// keys in alphabetical order, that is no quantity, and that value quoted. A policy's value, an integer,
// is a quantity too, so only quantities that cannot be one are found.
func badQuantity(j []byte) (path, value string, ok bool) {
	var doc any
	if json.Unmarshal(j, &doc) != nil {
		return "", "", false
	}
	var walk func(v any, path string, quantity bool) (string, string, bool)
	walk = func(v any, path string, quantity bool) (string, string, bool) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if p, val, ok := walk(v[k], strings.TrimPrefix(path+"."+k, "."), quantityFields[k]); ok {
					return p, val, true
				}
			}
		case []any:
			for i, e := range v {
				if p, val, ok := walk(e, fmt.Sprintf("%s[%d]", path, i), false); ok {
					return p, val, true
				}
			}
		case string:
			if _, err := resource.ParseQuantity(v); quantity && err != nil {
				return path, strconv.Quote(v), true
			}
		}
		return "", "", false
	}
	return walk(doc, "", false)
}

// checkHPAType refuses a manifest of another kind or API version than autoscaling/v2's
// HorizontalPodAutoscaler, saying how to get one where it can.
func checkHPAType(apiVersion, kind string) error {
	const want = "autoscaling/v2"
	readV2 := "read it from the cluster as v2: kubectl get horizontalpodautoscalers.v2.autoscaling NAME -o yaml"
	switch {
	case kind == "":
		return errors.New("kind: missing, must be HorizontalPodAutoscaler (with apiVersion: autoscaling/v2)")
	case kind == "List" || kind == "HorizontalPodAutoscalerList":
		return fmt.Errorf("kind: %q must be HorizontalPodAutoscaler: a list, as kubectl get hpa prints without a name; give one HPA (kubectl get hpa NAME -o yaml)", kind)
	case kind != "HorizontalPodAutoscaler":
		return fmt.Errorf("kind: %q must be HorizontalPodAutoscaler", kind)
	}
	switch apiVersion {
	case want:
		return nil
	case "":
		return fmt.Errorf("apiVersion: missing, must be %s", want)
	case "autoscaling/v1":
		return fmt.Errorf("apiVersion: %q has no behavior (the scaling policies and stabilization windows simulate replays): "+
			"give the HPA as %s, e.g. %s", apiVersion, want, readV2)
	case "autoscaling/v2beta2":
		return fmt.Errorf("apiVersion: %q must be %s (v2beta2 was removed in Kubernetes 1.26): convert it; v2 has the same fields, "+
			"so setting apiVersion: %s does, or %s", apiVersion, want, want, readV2)
	case "autoscaling/v2beta1":
		return fmt.Errorf("apiVersion: %q must be %s (v2beta1 was removed in Kubernetes 1.25): convert it, or %s", apiVersion, want, readV2)
	}
	return fmt.Errorf("apiVersion: %q must be %s", apiVersion, want)
}

// yamlDocuments counts the documents of a YAML stream that hold more than comments: sigs.k8s.io/yaml
// reads the first and drops the rest unseen.
func yamlDocuments(data []byte) int {
	n, content := 0, false
	for line := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(line, []byte("---")); ok {
			if rest = bytes.TrimSpace(rest); len(rest) == 0 || rest[0] == '#' {
				content = false
				continue
			}
		}
		if t := bytes.TrimSpace(line); !content && len(t) > 0 && t[0] != '#' {
			content = true
			n++
		}
	}
	return n
}

// manifestError is a parse error of sigs.k8s.io/yaml without its layers' prefixes and on one
// line: the parser's "yaml: line 3: ..." as it gives it, or a JSON type error as the field
// path and what the field wants.
func manifestError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		at := te.Field
		if at == "" {
			at = "the manifest"
		}
		return fmt.Errorf("%s: %s, want %s", at, te.Value, jsonKind(te.Type))
	}
	msg := err.Error()
	for _, prefix := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: ", "while decoding JSON: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	// yaml's "unmarshal errors:" list one per indented line.
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n  ", " ")
	return errors.New(strings.ReplaceAll(msg, "\n", " "))
}

// jsonKind names what a Go type reads from JSON, for a type error.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "a mapping"
}

// replicaBounds are the replicas the replay keeps between: --min and --max where the command
// line gives them (minSet, maxSet), else the manifest's. min and max are the flags as parsed,
// given each flag's text as written; a flag out of range is left to checkSimFlags, which
// reports it.
func (m hpaManifest) replicaBounds(min, max int, minSet, maxSet bool, given func(name string) string) (lo, hi int, err error) {
	lo, hi = int(m.MinReplicas), int(m.MaxReplicas)
	if minSet {
		lo = min
	}
	if maxSet {
		hi = max
	}
	inReplicas := func(n int) bool { return n >= 1 && n <= maxSimReplicas }
	switch {
	case !maxSet && hi > maxSimReplicas:
		return lo, hi, fmt.Errorf("--hpa %q: spec.maxReplicas: %d is more than simulate replays, %d (the pods of Kubernetes' largest supported cluster): give a --max",
			given("hpa"), hi, maxSimReplicas)
	case !inReplicas(lo) || !inReplicas(hi) || lo <= hi:
		return lo, hi, nil
	case minSet && maxSet:
		return lo, hi, fmt.Errorf("want 1 <= --min <= --max, got %d and %d", lo, hi)
	case minSet:
		return lo, hi, fmt.Errorf("--min %q: must be at most --hpa %q's spec.maxReplicas, %d: give a --max too, or a lower --min", given("min"), given("hpa"), hi)
	default:
		return lo, hi, fmt.Errorf("--max %q: must be at least --hpa %q's spec.minReplicas, %d: give a --min too, or a higher --max", given("max"), given("hpa"), lo)
	}
}

// behaviorReport is a Behavior as simulate reports it: each direction resolved (its defaults
// filled in) and in a line.
type behaviorReport struct {
	ScaleUp   string `json:"scaleUp"`
	ScaleDown string `json:"scaleDown"`
}

func reportBehavior(b actuator.Behavior) behaviorReport {
	return behaviorReport{ScaleUp: b.ScaleUpString(), ScaleDown: b.ScaleDownString()}
}
