package kubetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// killStale kills kube-apiserver and etcd processes left by test binaries that died without
// stopping them (go test -timeout panics, SIGKILL), and removes their state folders.
//
// Each binary keeps its control plane's state in root/<pid>-<random>; a folder whose pid no
// longer runs is an orphan's. Only processes whose command line names such a folder are
// killed, by their process group (envtest starts each in its own group).
func killStale(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		owner, _, ok := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(owner)
		if !ok || err != nil || !e.IsDir() || pid == os.Getpid() || alive(pid) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		killMentioning(dir)
		_ = os.RemoveAll(dir)
	}
}

// killMentioning kills, by process group, every process whose command line names dir.
func killMentioning(dir string) {
	for _, p := range processesMentioning(dir) {
		fmt.Fprintf(os.Stderr, "kubetest: killing control plane process %d (state %s)\n", p, dir)
		if err := syscall.Kill(-p, syscall.SIGKILL); err != nil {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(s string) []int {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
