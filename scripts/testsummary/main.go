// Command testsummary reads `go test -json` on stdin and prints what a person
// needs from it: the output of failed tests, the reason of skipped ones, one
// ok/FAIL line per package (as go test prints them), and a closing count line
// "LABEL: N passed, N failed, N skipped".
//
// With -fail-on-skip (CI) a skipped test is a failure: in CI every real server
// must be there, and a skip would hide a missing install step.
//
// Exit status: 0 when nothing failed (and, with -fail-on-skip, nothing was
// skipped), 1 otherwise, 2 on bad input.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time        time.Time
	Action      string
	Package     string
	ImportPath  string // build-output and build-fail events
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

type testKey struct{ pkg, test string }

type summary struct {
	out io.Writer

	passed, failed, skipped int
	bad                     bool // a failure, or a skip under -fail-on-skip
	failures                []string
	skips                   []string
	pkgFailedTests          map[string]int
	buf                     map[testKey][]string // output of tests still running
	pkgOut                  map[string][]string  // package-level output
	buildOut                map[string][]string
}

func newSummary(out io.Writer) *summary {
	return &summary{
		out:            out,
		pkgFailedTests: map[string]int{},
		buf:            map[testKey][]string{},
		pkgOut:         map[string][]string{},
		buildOut:       map[string][]string{},
	}
}

func (s *summary) handle(e event) {
	switch e.Action {
	case "build-output":
		s.buildOut[e.ImportPath] = append(s.buildOut[e.ImportPath], e.Output)
		return
	case "build-fail":
		fmt.Fprint(s.out, strings.Join(s.buildOut[e.ImportPath], ""))
		delete(s.buildOut, e.ImportPath)
		return
	}
	if e.Test == "" {
		s.handlePackage(e)
		return
	}
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "output":
		s.buf[k] = append(s.buf[k], e.Output)
	case "pass":
		s.passed++
		delete(s.buf, k)
	case "fail":
		s.failed++
		s.pkgFailedTests[e.Package]++
		s.failures = append(s.failures, e.Package+"."+e.Test)
		fmt.Fprint(s.out, strings.Join(s.buf[k], ""))
		delete(s.buf, k)
	case "skip":
		s.skipped++
		s.skips = append(s.skips, fmt.Sprintf("%s.%s: %s", e.Package, e.Test, skipReason(s.buf[k])))
		delete(s.buf, k)
	}
}

func (s *summary) handlePackage(e event) {
	switch e.Action {
	case "output":
		s.pkgOut[e.Package] = append(s.pkgOut[e.Package], e.Output)
	case "pass", "skip":
		// "ok" / "no test files" line, as go test prints it.
		for _, l := range s.pkgOut[e.Package] {
			if strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") {
				fmt.Fprint(s.out, l)
			}
		}
		delete(s.pkgOut, e.Package)
	case "fail":
		// Everything the package printed outside a test: a panic, a timeout, a
		// TestMain failure, a build error.
		fmt.Fprint(s.out, strings.Join(s.pkgOut[e.Package], ""))
		delete(s.pkgOut, e.Package)
		// A package that failed without a failed test (build error, panic in
		// init or TestMain) still counts as a failure.
		if s.pkgFailedTests[e.Package] == 0 && !s.hasRunning(e.Package) {
			s.failed++
			reason := "package failed outside any test"
			if e.FailedBuild != "" {
				reason = "build failed"
			}
			s.failures = append(s.failures, e.Package+" ("+reason+")")
		}
		// Tests cut off by a panic or a timeout never got a result: show them
		// and count them as failed.
		var cut []testKey
		for k := range s.buf {
			if k.pkg == e.Package {
				cut = append(cut, k)
			}
		}
		sort.Slice(cut, func(i, j int) bool { return cut[i].test < cut[j].test })
		for _, k := range cut {
			fmt.Fprint(s.out, strings.Join(s.buf[k], ""))
			delete(s.buf, k)
			s.failed++
			s.failures = append(s.failures, k.pkg+"."+k.test+" (did not finish)")
		}
	}
}

func (s *summary) hasRunning(pkg string) bool {
	for k := range s.buf {
		if k.pkg == pkg {
			return true
		}
	}
	return false
}

// skipReason is the message the test gave t.Skip: the indented lines after
// "--- SKIP", or the last non-framework line.
func skipReason(lines []string) string {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		msg = append(msg, t)
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msg, " ")
}

func main() {
	label := flag.String("label", "tests", "word printed before the closing count line")
	failOnSkip := flag.Bool("fail-on-skip", false, "treat a skipped test as a failure (CI)")
	countsFile := flag.String("counts", "", "also write \"passed failed skipped\" to this file")
	flag.Parse()

	s, err := run(os.Stdin, os.Stdout, *label, *failOnSkip)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
		os.Exit(2)
	}
	if *countsFile != "" {
		if err := os.WriteFile(*countsFile, fmt.Appendf(nil, "%d %d %d\n", s.passed, s.failed, s.skipped), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
			os.Exit(2)
		}
	}
	if s.bad {
		os.Exit(1)
	}
}

// run reads the events from in and writes the report to out.
func run(in io.Reader, out io.Writer, label string, failOnSkip bool) (*summary, error) {
	s := newSummary(out)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// go test prints some things outside JSON (e.g. errors from go
			// itself before any package runs): pass them through.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		s.handle(e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	// Build output for packages whose build-fail never came.
	for _, lines := range s.buildOut {
		fmt.Fprint(out, strings.Join(lines, ""))
	}

	s.bad = s.failed > 0
	if len(s.skips) > 0 {
		sort.Strings(s.skips)
		fmt.Fprintf(out, "\n%s: skipped tests:\n", label)
		for _, sk := range s.skips {
			fmt.Fprintf(out, "  SKIP %s\n", sk)
		}
		if failOnSkip {
			fmt.Fprintf(out, "%s: CI=true: a skipped test is a failure (a test server is missing?)\n", label)
			s.bad = true
		}
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(out, "\n%s: failed:\n", label)
		for _, f := range s.failures {
			fmt.Fprintf(out, "  FAIL %s\n", f)
		}
	}
	fmt.Fprintf(out, "%s: %d passed, %d failed, %d skipped\n", label, s.passed, s.failed, s.skipped)
	return s, nil
}
