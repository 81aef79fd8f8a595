package kubetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestMain(m *testing.M) { Main(m) }

func TestNamePrefix(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "TestFoo", want: "testfoo-"},
		{name: "subtest", in: "TestFoo/bar_baz", want: "testfoo-bar-baz-"},
		{name: "leading digit", in: "1abc", want: "t-1abc-"},
		{name: "only symbols", in: "///", want: "t-"},
		{name: "long", in: "TestAVeryLongNameThatGoesOnAndOnAndOnForeverAndEver", want: "testaverylongnamethatgoesonandonandonfor-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, namePrefix(tt.in))
		})
	}
}

func TestDecodeYAML(t *testing.T) {
	objs, err := DecodeYAML([]byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n"))
	require.NoError(t, err)
	require.Len(t, objs, 2)
	require.Equal(t, "ConfigMap", objs[0].GetKind())
	require.Equal(t, "b", objs[1].GetName())

	_, err = DecodeYAML([]byte("apiVersion: v1\nkind: [\n"))
	require.Error(t, err)
}

// TestKillStale starts a process that names an orphan's state folder (a pid that does not
// run) and one naming a live binary's folder: only the first is killed.
func TestKillStale(t *testing.T) {
	root := t.TempDir()
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	orphan := filepath.Join(root, strconv.Itoa(dead.Process.Pid)+"-x")
	live := filepath.Join(root, strconv.Itoa(os.Getppid())+"-y")
	for _, d := range []string{orphan, live} {
		require.NoError(t, os.MkdirAll(d, 0o700))
	}
	start := func(dir string) *exec.Cmd {
		c := exec.Command("sleep", "60", dir)
		require.NoError(t, c.Start())
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
		return c
	}
	orphanProc, liveProc := start(orphan), start(live)

	killStale(root)

	err := orphanProc.Wait()
	require.Error(t, err, "the orphan's process is killed")
	require.NoDirExists(t, orphan)
	require.DirExists(t, live)
	require.True(t, alive(liveProc.Process.Pid))
}

func TestEnv(t *testing.T) {
	env := Start(t)
	ns := env.NewNamespace(t)
	ctx := t.Context()

	_, err := env.Clientset.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
	require.NoError(t, err)

	objs := env.ApplyYAML(t, []byte(`
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: `+ns+`}
data: {a: "1"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-cm, namespace: `+ns+`}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-cm, namespace: `+ns+`}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-cm}
subjects:
- {kind: ServiceAccount, name: default, namespace: `+ns+`}
`))
	require.Len(t, objs, 3)

	sa, err := kubernetes.NewForConfig(env.ImpersonateServiceAccount(ns, "default"))
	require.NoError(t, err)
	// The API server's RBAC authorizer reads Roles and RoleBindings through informers: a
	// binding just created may take a moment to be seen, and is forbidden until then.
	var cm *corev1.ConfigMap
	require.Eventually(t, func() bool {
		cm, err = sa.CoreV1().ConfigMaps(ns).Get(ctx, "cfg", metav1.GetOptions{})
		return err == nil || !apierrors.IsForbidden(err)
	}, 10*time.Second, 50*time.Millisecond, "the role never took effect")
	require.NoError(t, err, "the role allows get")
	require.Equal(t, "1", cm.Data["a"])
	_, err = sa.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "the role does not allow list: %v", err)

	require.Same(t, env, Start(t), "one control plane per test binary")
	require.NotEqual(t, ns, env.NewNamespace(t))
}
