//go:build !linux

package redisha

import "syscall"

// ProcAttr is nil where the parent's death cannot be forwarded to a child.
func ProcAttr() *syscall.SysProcAttr { return nil }
