package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startFIFOReader makes a named pipe at p and reads it to its end in a goroutine, as a shell's
// process substitution would; the returned function waits for what was read.
func startFIFOReader(t *testing.T, p string) func() string {
	t.Helper()
	require.NoError(t, syscall.Mkfifo(p, 0o600))
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(p) // blocks until the writer opens the pipe, reads until it closes it
		got <- string(b)
	}()
	t.Cleanup(func() {
		// Unblocks the reader if the test failed before writing: a writer that comes and goes.
		if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	return func() string {
		select {
		case s := <-got:
			return s
		case <-time.After(time.Minute):
			t.Fatal("nothing read from the pipe")
			return ""
		}
	}
}

// Regression test: a symbolic link to /dev/stdout, to a descriptor or to a pipe given as
// --output was resolved to the end of its chain: when that was the regular file a shell had
// redirected stdout to, the file was renamed over (what `>>` kept was lost, and the
// descriptor no longer saw the output). Each link of the chain is looked at now: a link to a
// descriptor, device or pipe is written through, a link to a regular file stays a link and
// its target is replaced.
func TestForecastOutputThroughSymbolicLinks(t *testing.T) {
	const header = "series,timestamp,value,upper\n"
	tests := []struct {
		name string
		// setup makes the --output path in dir and returns check, which looks at the
		// link and its target after the forecast.
		setup func(t *testing.T, dir string) (output string, check func(t *testing.T))
	}{
		{
			name: "link to a regular file",
			setup: func(t *testing.T, dir string) (string, func(t *testing.T)) {
				target := filepath.Join(dir, "target.csv")
				require.NoError(t, os.WriteFile(target, []byte("old\n"), 0o640))
				link := filepath.Join(dir, "link.csv")
				require.NoError(t, os.Symlink("target.csv", link))
				return link, func(t *testing.T) {
					requireLink(t, link, "target.csv")
					got := readString(t, target)
					require.True(t, strings.HasPrefix(got, header+"api,"), got)
					fi, err := os.Stat(target)
					require.NoError(t, err)
					require.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "the target keeps its mode")
				}
			},
		},
		{
			name: "chain of links to a regular file",
			setup: func(t *testing.T, dir string) (string, func(t *testing.T)) {
				target := filepath.Join(dir, "target.csv")
				require.NoError(t, os.WriteFile(target, []byte("old\n"), 0o644))
				require.NoError(t, os.Symlink(target, filepath.Join(dir, "second.csv")))
				link := filepath.Join(dir, "first.csv")
				require.NoError(t, os.Symlink("second.csv", link))
				return link, func(t *testing.T) {
					requireLink(t, link, "second.csv")
					requireLink(t, filepath.Join(dir, "second.csv"), target)
					require.True(t, strings.HasPrefix(readString(t, target), header))
				}
			},
		},
		{
			// The kernel takes ".." in a link relative to the link's real folder, not to the
			// path the link was reached by.
			name: "relative link reached through a linked folder",
			setup: func(t *testing.T, dir string) (string, func(t *testing.T)) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "real", "sub"), 0o755))
				require.NoError(t, os.Symlink(filepath.Join("real", "sub"), filepath.Join(dir, "alias")))
				target := filepath.Join(dir, "real", "target.csv")
				require.NoError(t, os.WriteFile(target, []byte("old\n"), 0o644))
				require.NoError(t, os.Symlink(filepath.Join("..", "target.csv"), filepath.Join(dir, "real", "sub", "link.csv")))
				return filepath.Join(dir, "alias", "link.csv"), func(t *testing.T) {
					requireLink(t, filepath.Join(dir, "real", "sub", "link.csv"), filepath.Join("..", "target.csv"))
					require.True(t, strings.HasPrefix(readString(t, target), header))
					require.NoFileExists(t, filepath.Join(dir, "target.csv"))
				}
			},
		},
		{
			name: "dangling link",
			setup: func(t *testing.T, dir string) (string, func(t *testing.T)) {
				link := filepath.Join(dir, "link.csv")
				require.NoError(t, os.Symlink("new.csv", link))
				return link, func(t *testing.T) {
					requireLink(t, link, "new.csv")
					require.True(t, strings.HasPrefix(readString(t, filepath.Join(dir, "new.csv")), header))
				}
			},
		},
		{
			name: "link to a named pipe",
			setup: func(t *testing.T, dir string) (string, func(t *testing.T)) {
				pipe := filepath.Join(dir, "pipe")
				read := startFIFOReader(t, pipe)
				link := filepath.Join(dir, "link.csv")
				require.NoError(t, os.Symlink("pipe", link))
				return link, func(t *testing.T) {
					got := read()
					require.True(t, strings.HasPrefix(got, header+"api,"), got)
					requireLink(t, link, "pipe")
					fi, err := os.Lstat(pipe)
					require.NoError(t, err)
					require.Equal(t, os.ModeNamedPipe, fi.Mode().Type(), "the pipe stays")
				}
			},
		},
		{
			name: "chain of links to a named pipe",
			setup: func(t *testing.T, dir string) (string, func(t *testing.T)) {
				read := startFIFOReader(t, filepath.Join(dir, "pipe"))
				require.NoError(t, os.Symlink("pipe", filepath.Join(dir, "second")))
				link := filepath.Join(dir, "first")
				require.NoError(t, os.Symlink("second", link))
				return link, func(t *testing.T) {
					require.True(t, strings.HasPrefix(read(), header))
					requireLink(t, link, "second")
				}
			},
		},
		// /dev/stdout is /proc/self/fd/1: a link to a descriptor's name, here of a regular
		// file opened to append as a shell's `>>` opens it, stands in for a link to
		// /dev/stdout (the test's own stdout is not to be written to).
		{name: "link to /proc/self/fd/N of a redirected file", setup: descriptorLink("/proc/self/fd/%d")},
		{name: "link to /dev/fd/N of a redirected file", setup: descriptorLink("/dev/fd/%d")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := writeSeries(t, t.TempDir(), "api.csv", "series,timestamp,value", []string{"api"}, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
			out, check := tc.setup(t, dir)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"forecast", "--input", in, "--output", out, "--horizon", "3"})
			require.Equal(t, exitOK, code, stderr.String())
			check(t)
			for _, n := range dirNames(t, dir) {
				require.False(t, strings.HasSuffix(n, ".tmp"), "temporary file %s left behind", n)
			}
		})
	}
}

// descriptorLink is a test case's setup: a link to the name pattern (with the descriptor's
// number) of a regular file that holds a line and is open to append.
func descriptorLink(pattern string) func(t *testing.T, dir string) (string, func(t *testing.T)) {
	return func(t *testing.T, dir string) (string, func(t *testing.T)) {
		redirected := filepath.Join(dir, "redirected.txt")
		require.NoError(t, os.WriteFile(redirected, []byte("kept\n"), 0o644))
		f, err := os.OpenFile(redirected, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		before, err := f.Stat()
		require.NoError(t, err)
		name := fmt.Sprintf(pattern, f.Fd())
		link := filepath.Join(dir, "link.csv")
		require.NoError(t, os.Symlink(name, link))
		return link, func(t *testing.T) {
			requireLink(t, link, name)
			got := readString(t, redirected)
			require.True(t, strings.HasPrefix(got, "kept\nseries,timestamp,value,upper\napi,"), got)
			after, err := os.Stat(redirected)
			require.NoError(t, err)
			require.True(t, os.SameFile(before, after), "the file the descriptor has open is written, not replaced")
		}
	}
}

func requireLink(t *testing.T, link, target string) {
	t.Helper()
	got, err := os.Readlink(link)
	require.NoError(t, err, "the link stays a link")
	require.Equal(t, target, got)
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestResolveOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	require.NoError(t, os.Symlink("file", filepath.Join(dir, "to-file")))
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(dir, "to-null")))
	require.NoError(t, os.Symlink("/dev/stdout", filepath.Join(dir, "to-stdout")))
	require.NoError(t, os.Symlink("loop-b", filepath.Join(dir, "loop-a")))
	require.NoError(t, os.Symlink("loop-a", filepath.Join(dir, "loop-b")))
	tests := []struct {
		name, path, final string
		direct            bool
		err               string
	}{
		{name: "new file", path: filepath.Join(dir, "new"), final: filepath.Join(dir, "new")},
		{name: "regular file", path: file, final: file},
		{name: "link to a regular file", path: filepath.Join(dir, "to-file"), final: file},
		{name: "device", path: "/dev/null", direct: true},
		{name: "link to a device", path: filepath.Join(dir, "to-null"), direct: true},
		{name: "/dev/stdout", path: "/dev/stdout", direct: true},
		{name: "link to /dev/stdout", path: filepath.Join(dir, "to-stdout"), direct: true},
		{name: "loop of links", path: filepath.Join(dir, "loop-a"), err: "levels of symbolic links"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			final, direct, err := resolveOutput(tc.path)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.direct, direct)
			require.Equal(t, tc.final, final)
		})
	}
}

// Regression test: --cpuprofile opened its file with os.Create, emptying an existing profile
// (or a symbolic link's target) before a run that could still fail. It is written as --output
// is: beside the file, renamed over it when the run succeeds.
func TestForecastCommandCPUProfileOutput(t *testing.T) {
	const old = "old profile\n"
	linkToOldProfile := func(t *testing.T, dir string) string {
		writeOldProfile(old)(t, dir)
		link := filepath.Join(dir, "link.pprof")
		require.NoError(t, os.Symlink("cpu.pprof", link))
		return link
	}
	tests := []struct {
		name    string
		missing bool // the --input does not exist: the run fails
		// setup makes the --cpuprofile path in dir; check looks at it after the run.
		setup func(t *testing.T, dir string) string
		check func(t *testing.T, dir, profile string)
	}{
		{
			name:  "new file",
			setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "cpu.pprof") },
			check: func(t *testing.T, dir, profile string) {
				requireProfile(t, profile)
				fi, err := os.Stat(profile)
				require.NoError(t, err)
				require.Equal(t, newFileMode, fi.Mode().Perm())
			},
		},
		{
			name:  "existing file replaced",
			setup: writeOldProfile(old),
			check: func(t *testing.T, dir, profile string) {
				requireProfile(t, profile)
				fi, err := os.Stat(profile)
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the profile keeps its mode")
			},
		},
		{
			name:  "link to an existing file",
			setup: linkToOldProfile,
			check: func(t *testing.T, dir, profile string) {
				requireLink(t, profile, "cpu.pprof")
				requireProfile(t, filepath.Join(dir, "cpu.pprof"))
			},
		},
		{
			name:    "failed run keeps the existing file",
			missing: true,
			setup:   writeOldProfile(old),
			check:   func(t *testing.T, dir, profile string) { require.Equal(t, old, readString(t, profile)) },
		},
		{
			name:    "failed run keeps a link's target",
			missing: true,
			setup:   linkToOldProfile,
			check: func(t *testing.T, dir, profile string) {
				requireLink(t, profile, "cpu.pprof")
				require.Equal(t, old, readString(t, filepath.Join(dir, "cpu.pprof")))
			},
		},
		{
			name:    "failed run creates nothing",
			missing: true,
			setup:   func(t *testing.T, dir string) string { return filepath.Join(dir, "cpu.pprof") },
			check:   func(t *testing.T, dir, profile string) { require.NoFileExists(t, profile) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			inDir := t.TempDir()
			in := writeSeries(t, inDir, "api.csv", "series,timestamp,value", []string{"api"}, 15, func(t time.Time) string { return t.Format(time.RFC3339) })
			want := exitOK
			if tc.missing {
				in, want = filepath.Join(inDir, "nosuch.csv"), exitFatal
			}
			profile := tc.setup(t, dir)
			before := dirNames(t, dir)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr},
				[]string{"forecast", "--input", in, "--output", filepath.Join(inDir, "out.csv"), "--horizon", "24", "--cpuprofile", profile})
			require.Equal(t, want, code, stderr.String())
			tc.check(t, dir, profile)
			after := dirNames(t, dir)
			if tc.missing {
				require.Equal(t, before, after, "no temporary file left behind")
			}
			for _, n := range after {
				require.False(t, strings.HasSuffix(n, ".tmp"), "temporary file %s left behind", n)
			}
		})
	}
}

// Regression test: --cpuprofile naming the --input file replaced the input with a profile
// (exit 0), and naming the --output file lost one of the two; both are refused as --output
// naming --input is, and the files are left as they were.
func TestForecastCommandCPUProfileClash(t *testing.T) {
	for _, tc := range []struct{ name, profile string }{
		{"the input", "api.csv"},
		{"the output", "out.csv"},
		{"a link to the input", "link.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := writeSeries(t, dir, "api.csv", "series,timestamp,value", []string{"api"}, 15, func(t time.Time) string { return t.Format(time.RFC3339) })
			require.NoError(t, os.Symlink("api.csv", filepath.Join(dir, "link.csv")))
			input := readString(t, in)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr},
				[]string{"forecast", "--input", in, "--output", filepath.Join(dir, "out.csv"), "--horizon", "24", "--cpuprofile", filepath.Join(dir, tc.profile)})
			require.Equal(t, exitUsage, code, stderr.String())
			require.Contains(t, stderr.String(), "is the --input or --output file")
			require.Equal(t, input, readString(t, in), "the input is untouched")
			require.NoFileExists(t, filepath.Join(dir, "out.csv"))
		})
	}
}

// Regression test: --output naming a named pipe that no process read blocked in open(2), where
// neither SIGTERM nor SIGINT ended the command. It waits for a reader now while the command's
// context lives, and a reader that comes late still gets the forecast.
func TestForecastCommandPipeWithoutReader(t *testing.T) {
	dir := t.TempDir()
	in := writeSeries(t, dir, "api.csv", "series,timestamp,value", []string{"api"}, 15, func(t time.Time) string { return t.Format(time.RFC3339) })
	pipe := filepath.Join(dir, "pipe")
	require.NoError(t, syscall.Mkfifo(pipe, 0o600))
	args := []string{"forecast", "--input", in, "--output", pipe, "--horizon", "24"}

	// The signal handler cancels the command's context: here, a deadline does.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, cli{stdout: &stdout, stderr: &stderr}, args)
	require.Equal(t, exitFatal, code, stderr.String())
	require.Contains(t, stderr.String(), "a named pipe no process read")

	// A reader that opens the pipe after the command started.
	got := make(chan string, 1)
	go func() {
		time.Sleep(3 * readerPoll)
		b, _ := os.ReadFile(pipe)
		got <- string(b)
	}()
	stderr.Reset()
	code = run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, args)
	require.Equal(t, exitOK, code, stderr.String())
	require.True(t, strings.HasPrefix(<-got, "series,timestamp,value,upper\napi,"))
}

// writeOldProfile writes content to cpu.pprof in dir, mode 0600, and returns its path.
func writeOldProfile(content string) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		p := filepath.Join(dir, "cpu.pprof")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
}

// requireProfile checks path holds a CPU profile: a gzipped protocol buffer.
func requireProfile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NotEmpty(t, body)
}
