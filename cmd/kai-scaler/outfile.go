package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
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

// createOutput opens path for writing as outputFile describes. Symbolic links are followed
// one at a time: a link that leads to a device, a pipe or a descriptor's name is written
// through, and one that leads to a regular file (or to nothing yet) stays, while its final
// target is replaced. A named pipe is opened once a process reads it; ctx's end stops the
// wait.
func createOutput(ctx context.Context, path string) (*outputFile, error) {
	final, direct, err := resolveOutput(path)
	if err != nil {
		return nil, err
	}
	if direct {
		f, err := openDirect(ctx, path)
		if err != nil {
			return nil, err
		}
		return &outputFile{f: f}, nil
	}
	mode := newFileMode
	switch fi, err := os.Stat(final); {
	case err == nil:
		mode = fi.Mode().Perm() // a replaced file keeps its permissions
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &outputFile{f: f, final: final, mode: mode}, nil
}

// maxLinks bounds the symbolic links resolveOutput follows, as Linux's ELOOP does.
const maxLinks = 40

// resolveOutput follows path's symbolic links one at a time and reports where the output
// goes: final, the regular file (existing or not) a temporary file is renamed over, or
// direct when it is to be written in place. Each link is looked at, not only the end of the
// chain: a link to /dev/stdout resolves, through /proc/self/fd/1, to the file a shell
// redirected it to, which a rename would replace under the descriptor (losing what `>>`
// kept); only a link to a descriptor's name says it is one.
func resolveOutput(path string) (final string, direct bool, err error) {
	p := path
	for range maxLinks {
		if isDescriptorName(p) {
			return "", true, nil
		}
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return p, false, nil // created there, as os.Create would through a dangling link
		case err != nil:
			return "", false, err
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return "", false, fmt.Errorf("%s: symbolic link: %w", path, err)
			}
			if !filepath.IsAbs(target) {
				// Relative to the link's real folder: joined to a path through another
				// link, a ".." would be taken lexically, not as the kernel takes it.
				dir, err := filepath.EvalSymlinks(filepath.Dir(p))
				if err != nil {
					return "", false, fmt.Errorf("%s: symbolic link: %w", path, err)
				}
				target = filepath.Join(dir, target)
			}
			p = target
		case fi.Mode().IsRegular():
			return p, false, nil
		default:
			// A device, a pipe, a socket: it cannot be replaced, and it is not the run's
			// to delete (a folder fails when opened).
			return "", true, nil
		}
	}
	return "", false, fmt.Errorf("%s: more than %d levels of symbolic links", path, maxLinks)
}

// isDescriptorName reports whether path names an open file descriptor (/dev/stdout,
// /dev/fd/N, /proc/self/fd/N), which is a regular file when a shell redirected it: renamed
// over, the file would lose what was there and the descriptor would not see the output.
func isDescriptorName(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	switch abs {
	case "/dev/stdout", "/dev/stderr":
		return true
	}
	return strings.HasPrefix(abs, "/dev/fd/") || strings.HasPrefix(abs, "/proc/")
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

// readerPoll is how often openDirect looks for a named pipe's reader.
const readerPoll = 50 * time.Millisecond

// openDirect opens path, a device, a pipe or a descriptor's name, for writing in place.
// O_APPEND: /dev/stdout of a shell's `>>` is a regular file that must not be overwritten from
// its start; devices and pipes ignore it. No O_TRUNC, no O_CREATE. O_NONBLOCK: opening a named
// pipe that no process reads blocks in the kernel, where no signal reaches it, so the command
// could not be stopped (even by SIGTERM); without a reader it fails (ENXIO) and is tried again
// until one comes or ctx ends. Writes are not affected: os runs pipes and devices on its poller
// in nonblocking mode anyway, and the kernel ignores the flag on regular files.
func openDirect(ctx context.Context, path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
		if !errors.Is(err, syscall.ENXIO) {
			return f, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: a named pipe no process read: %w", path, context.Cause(ctx))
		case <-time.After(readerPoll):
		}
	}
}
