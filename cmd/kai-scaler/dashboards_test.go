package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDashboardsCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "help", args: []string{"dashboards", "-h"}, wantCode: 0, wantErr: "--out DIR"},
		{name: "no out", args: []string{"dashboards"}, wantCode: 2, wantErr: "usage: kai-scaler dashboards"},
		{name: "stray argument", args: []string{"dashboards", "--out", "x", "y"}, wantCode: 2, wantErr: "usage"},
		{name: "unknown flag", args: []string{"dashboards", "--bogus"}, wantCode: 2, wantErr: "bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}, tt.args)
			require.Equal(t, tt.wantCode, code, errOut.String())
			require.Contains(t, errOut.String(), tt.wantErr)
		})
	}
}

// The command regenerates exactly the committed dashboards and PrometheusRule.
func TestDashboardsCommandWritesCommittedFiles(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "json")
	rule := filepath.Join(dir, "rules", "prometheusrule.yaml")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"dashboards", "--out", out, "--prometheusrule", rule})
	require.Equal(t, 0, code, stderr.String())

	committed, err := filepath.Glob(filepath.Join("..", "..", "dashboards", "json", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, committed)
	written, err := filepath.Glob(filepath.Join(out, "*.json"))
	require.NoError(t, err)
	require.Len(t, written, len(committed))
	for _, c := range committed {
		want, err := os.ReadFile(c)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(out, filepath.Base(c)))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), filepath.Base(c))
		require.Contains(t, stdout.String(), filepath.Base(c))
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "deploy", "base", "prometheusrule.yaml"))
	require.NoError(t, err)
	got, err := os.ReadFile(rule)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestDashboardsCommandFailsOnUnwritableFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"dashboards", "--out", filepath.Join(file, "sub")})
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "kai-scaler dashboards:")
}
