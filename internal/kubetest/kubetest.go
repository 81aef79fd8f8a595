package kubetest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kai-platform/kai-scaler/internal/testenv"
)

// Env is the shared control plane as one test sees it. Config and Clientset act as
// system:masters, which bypasses RBAC; use ImpersonateServiceAccount to be checked by it.
type Env struct {
	Config    *rest.Config
	Clientset *kubernetes.Clientset
	Dynamic   dynamic.Interface
	// Kubeconfig is a kubeconfig file's content for Config (admin), for commands under test.
	Kubeconfig []byte
	mapper     meta.ResettableRESTMapper
}

// ownDir is the state folder of this binary's control plane, readable without shared.mu
// (which a start in progress holds) by the -test.timeout watchdog.
var ownDir atomic.Pointer[string]

// defaultStartTimeout is generous: the machine is shared, and a cold kube-apiserver start
// under load takes far longer than envtest's 20 s default.
const defaultStartTimeout = 120 * time.Second

// shared is the one control plane of this test binary.
var shared struct {
	mu      sync.Mutex
	main    bool // Main is running: someone will stop the control plane
	stopped bool
	te      *envtest.Environment
	env     *Env
	err     error
	dir     string
}

// Main runs the package's tests and then stops the shared control plane, so no kube-apiserver
// or etcd outlives the test binary. Call it from TestMain:
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//
// When go test's -timeout is set, the control plane is stopped shortly before it fires (the
// timeout panics without running deferred code); processes left by an earlier binary that was
// killed anyway are killed on the next Start.
func Main(m *testing.M) {
	flag.Parse()
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			margin := min(30*time.Second, d/10)
			timer := time.AfterFunc(d-margin, func() {
				fmt.Fprintf(os.Stderr, "kubetest: -test.timeout=%s is about to fire; stopping the control plane\n", d)
				stopped := make(chan struct{})
				go func() { _ = stop(); close(stopped) }()
				select {
				case <-stopped:
				case <-time.After(margin / 2):
					// stop waits for a start in progress, which envtest retries: keep killing
					// our processes until the timeout ends the binary.
					if dir := ownDir.Load(); dir != nil {
						for {
							killMentioning(*dir)
							time.Sleep(20 * time.Millisecond)
						}
					}
				}
			})
			defer timer.Stop()
		}
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: stopping the control plane: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Start returns the shared control plane, starting it on first use. It skips the test when
// KUBEBUILDER_ASSETS is unset (fails under KAI_REQUIRE_INTEGRATION), and fails it when the
// package's TestMain does not call Main.
func Start(t testing.TB) *Env {
	t.Helper()
	assets := testenv.KubebuilderAssets(t)
	env, err := startShared(assets)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return env
}

func startShared(assets string) (*Env, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	switch {
	case !shared.main:
		return nil, errors.New("the package's TestMain must call kubetest.Main(m), which stops the control plane")
	case shared.stopped:
		return nil, errors.New("the control plane was stopped (test binary about to time out)")
	case shared.env != nil || shared.err != nil:
		return shared.env, shared.err
	}
	shared.env, shared.err = startControlPlane(assets)
	return shared.env, shared.err
}

func startControlPlane(assets string) (*Env, error) {
	crlog.SetLogger(logr.Discard())
	root := filepath.Join(os.TempDir(), "kai-kubetest")
	killStale(root)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	// The folder name carries our pid so a later binary can tell our processes are orphans.
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	shared.dir = dir
	ownDir.Store(&dir)
	logFile, err := os.Create(filepath.Join(dir, "control-plane.log"))
	if err != nil {
		return nil, fmt.Errorf("create control plane log: %w", err)
	}
	startTimeout := defaultStartTimeout
	if v := os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > startTimeout {
			startTimeout = d
		}
	}
	te := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  60 * time.Second,
	}
	te.ControlPlane.Etcd = &envtest.Etcd{DataDir: filepath.Join(dir, "etcd"), Out: logFile, Err: logFile}
	api := te.ControlPlane.GetAPIServer()
	api.CertDir = filepath.Join(dir, "apiserver")
	api.Out, api.Err = logFile, logFile
	for _, d := range []string{te.ControlPlane.Etcd.DataDir, api.CertDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	shared.te = te
	cfg, err := te.Start()
	if err != nil {
		_ = te.Stop()
		shared.te = nil
		return nil, fmt.Errorf("start envtest (kube-apiserver and etcd from %s): %w\n%s", assets, err, tail(logFile.Name(), 4000))
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("clientset: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	return &Env{Config: cfg, Clientset: cs, Dynamic: dyn, Kubeconfig: te.KubeConfig, mapper: mapper}, nil
}

// stop stops the control plane if it runs; later Starts fail.
func stop() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.stopped = true
	if shared.te == nil {
		return nil
	}
	err := shared.te.Stop()
	shared.te = nil
	if err == nil && shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	return err
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// NewNamespace creates a namespace for this test only, with its default ServiceAccount (no
// controller manager creates it here), and deletes it when the test ends.
func (e *Env) NewNamespace(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	ns, err := e.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namePrefix(t.Name())},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubetest: create namespace: %v", err)
	}
	_, err = e.Clientset.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("kubetest: create default service account in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		// The namespace stays Terminating (no namespace controller); deleting it still marks
		// it as done for anyone listing namespaces.
		_ = e.Clientset.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// namePrefix turns a test name into a namespace generateName prefix (a DNS label part).
func namePrefix(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	p := strings.Trim(b.String(), "-")
	if p == "" || (p[0] >= '0' && p[0] <= '9') {
		p = "t-" + p
	}
	return strings.TrimSuffix(p, "-") + "-"
}

// WriteKubeconfig writes Kubeconfig to a file in the test's temporary folder and returns its path.
func (e *Env) WriteKubeconfig(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, e.Kubeconfig, 0o600); err != nil {
		t.Fatalf("kubetest: write kubeconfig: %v", err)
	}
	return p
}

// ImpersonateServiceAccount returns a config that acts as the ServiceAccount ns/name, so RBAC
// applies to it exactly as to a pod running with that account.
func (e *Env) ImpersonateServiceAccount(ns, name string) *rest.Config {
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	return cfg
}

// DecodeYAML splits a multi-document YAML (or JSON) manifest into objects, skipping empty
// documents.
func DecodeYAML(docs []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(docs), 4096)
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decode document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// ApplyYAML server-side applies every object of a multi-document manifest (field manager
// "kubetest", forced) and returns them as applied.
func (e *Env) ApplyYAML(t testing.TB, docs []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := DecodeYAML(docs)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return e.Apply(t, objs...)
}

// Apply server-side applies objects in order (field manager "kubetest", forced) and returns
// them as applied. Namespaced objects must carry their namespace.
func (e *Env) Apply(t testing.TB, objs ...*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			e.mapper.Reset() // a kind registered after discovery was cached
			m, err = e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			t.Fatalf("kubetest: map %s: %v", gvk, err)
		}
		var ri dynamic.ResourceInterface = e.Dynamic.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if o.GetNamespace() == "" {
				t.Fatalf("kubetest: %s %q has no namespace", gvk.Kind, o.GetName())
			}
			ri = e.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		applied, err := ri.Apply(context.Background(), o.GetName(), o, metav1.ApplyOptions{FieldManager: "kubetest", Force: true})
		if err != nil {
			t.Fatalf("kubetest: apply %s %s/%s: %v", gvk.Kind, o.GetNamespace(), o.GetName(), err)
		}
		out = append(out, applied)
	}
	return out
}
