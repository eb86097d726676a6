package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the server if the test binary dies first (a panic, a
// timeout), so that no siwei is left listening.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
