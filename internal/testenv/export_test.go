package testenv

// ServerPIDs returns the pids of the Postfix and Dovecot masters, for the
// test that proves they do not outlive a crashed test binary.
func (ms *MailStack) ServerPIDs() []int {
	pids := []int{ms.postfixPID}
	if ms.dovecot != nil && ms.dovecot.Process != nil {
		pids = append(pids, ms.dovecot.Process.Pid)
	}
	return pids
}

// Alive reports whether pid runs (a zombie does not count).
func Alive(pid int) bool { return alive(pid) }
