package redisha

import "syscall"

// ProcAttr makes a child process die with the test process (SIGKILL when it exits), so a test
// binary killed by a timeout or a closed pipe leaves no Redis or kai-scaler running.
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
