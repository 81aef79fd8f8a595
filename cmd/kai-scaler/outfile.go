package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// newFileMode is the mode of an output file that did not exist before, as os.Create makes
// one under the usual umask 022 (os.CreateTemp makes 0600, too private for a report).
const newFileMode fs.FileMode = 0o644

// outputFile is where a command writes a file it was asked for. A regular file is written
// to a temporary file beside it that replaces it only on commit, so a run that fails leaves
// whatever was there untouched (a failed forecast used to truncate, then delete, its
// --output, even when that was its --input). Anything else (a device such as /dev/null or
// /dev/stdout, a pipe) is written directly and never removed: it cannot be replaced, and it
// is not the run's to delete.
type outputFile struct {
	f      *os.File
	final  string // the path renamed over on commit; empty when writing directly
	mode   fs.FileMode
	closed bool
}

// createOutput opens path for writing as outputFile describes. A symbolic link is followed,
// so the link stays and its target is replaced.
func createOutput(path string) (*outputFile, error) {
	if direct, err := isDirectOutput(path); err != nil {
		return nil, err
	} else if direct {
		// O_APPEND: /dev/stdout of a shell's `>>` is a regular file that must not be
		// overwritten from its start; devices and pipes ignore it. No O_TRUNC, no O_CREATE.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, err
		}
		return &outputFile{f: f}, nil
	}
	final, mode := path, newFileMode
	switch fi, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSymlink != 0:
		if final, err = filepath.EvalSymlinks(path); err != nil {
			return nil, fmt.Errorf("%s: symbolic link: %w", path, err)
		}
		fallthrough
	default:
		target, err := os.Stat(final)
		if err != nil {
			return nil, err
		}
		mode = target.Mode().Perm() // a replaced file keeps its permissions
	}
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &outputFile{f: f, final: final, mode: mode}, nil
}

// isDirectOutput reports whether path is written directly rather than replaced: it exists
// and is not a regular file, or it names an open file descriptor (/dev/stdout, /dev/fd/N,
// /proc/self/fd/N), which is a regular file when a shell redirected it: renamed over, the
// file would lose what was there and the descriptor would not see the output.
func isDirectOutput(path string) (bool, error) {
	if abs, err := filepath.Abs(path); err == nil {
		switch abs {
		case "/dev/stdout", "/dev/stderr":
			return true, nil
		}
		if strings.HasPrefix(abs, "/dev/fd/") || strings.HasPrefix(abs, "/proc/") {
			return true, nil
		}
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	return !fi.Mode().IsRegular(), nil
}

func (o *outputFile) Write(p []byte) (int, error) { return o.f.Write(p) }

var _ io.Writer = (*outputFile)(nil)

// commit closes the file and, for a regular file, puts it in place of the output.
func (o *outputFile) commit() error {
	o.closed = true
	if o.final == "" {
		return o.f.Close()
	}
	tmp := o.f.Name()
	err := o.f.Chmod(o.mode)
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, o.final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", o.final, err)
	}
	return nil
}

// discard closes the file and removes the temporary file unless commit ran: the output is
// left as it was. It is safe to defer after commit.
func (o *outputFile) discard() {
	if o.closed {
		return
	}
	o.closed = true
	o.f.Close()
	if o.final != "" {
		os.Remove(o.f.Name())
	}
}

// sameFile reports whether the paths name one existing file (a hard link, a symbolic link,
// another spelling of the path), which a command must not both read and write.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
