package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// machineCPU is where the machine's CPU went during a side's run: the
// sink (this process), PostgreSQL (its processes on this machine) and
// what was left idle. All sides share the cores with the sink and the
// database, so a side's rate is bound by what the others leave it; these
// figures say how close to that bound a run was.
type machineCPU struct {
	busy, idle float64 // seconds of all cores together, from /proc/stat
	sink       float64 // this process: the sink (and this tool's sampling)
	postgres   float64 // every process named postgres
}

// clockTicks is USER_HZ, in which /proc reports CPU time: 100 on Linux.
const clockTicks = 100

func readMachineCPU() machineCPU {
	var m machineCPU
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseFloat(f, 64)
			switch i {
			case 3, 4: // idle, iowait
				m.idle += v / clockTicks
			case 8, 9: // guest time is counted in user time already
			default:
				m.busy += v / clockTicks
			}
		}
	}
	m.sink = cpuSeconds()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			m.postgres += reliability.ProcUsage(pid).CPU.Seconds()
		}
	}
	return m
}

// since describes the CPU used from m0 to m. A PostgreSQL backend that
// ended in between is not counted; the tool's runs keep theirs open.
func (m machineCPU) since(m0 machineCPU) string {
	busy, idle := m.busy-m0.busy, m.idle-m0.idle
	s := fmt.Sprintf("machine %.2f s busy, %.2f s idle (all cores); the sink %.2f s", busy, idle, m.sink-m0.sink)
	if pg := m.postgres - m0.postgres; pg > 0 {
		s += fmt.Sprintf("; postgres %.2f s", pg)
	}
	return s
}
