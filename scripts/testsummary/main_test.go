package main

import (
	"strings"
	"testing"
)

// Recorded from `go test -json` over one package with a passing, a failing
// (in a subtest) and a skipped test, and one package that does not build.
const recorded = `{"ImportPath":"example.com/tsamp/q [example.com/tsamp/q.test]","Action":"build-output","Output":"# example.com/tsamp/q [example.com/tsamp/q.test]\n"}
{"ImportPath":"example.com/tsamp/q [example.com/tsamp/q.test]","Action":"build-output","Output":"q/q_test.go:3:28: undefined: undefined\n"}
{"ImportPath":"example.com/tsamp/q [example.com/tsamp/q.test]","Action":"build-fail"}
{"Action":"start","Package":"example.com/tsamp/p"}
{"Action":"start","Package":"example.com/tsamp/q"}
{"Action":"output","Package":"example.com/tsamp/q","Output":"FAIL\texample.com/tsamp/q [build failed]\n"}
{"Action":"fail","Package":"example.com/tsamp/q","Elapsed":0,"FailedBuild":"example.com/tsamp/q [example.com/tsamp/q.test]"}
{"Action":"run","Package":"example.com/tsamp/p","Test":"TestOK"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"example.com/tsamp/p","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"example.com/tsamp/p","Test":"TestBad"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"run","Package":"example.com/tsamp/p","Test":"TestBad/sub"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestBad/sub","Output":"=== RUN   TestBad/sub\n"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestBad/sub","Output":"    p_test.go:4: boom here\n"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestBad/sub","Output":"--- FAIL: TestBad/sub (0.00s)\n"}
{"Action":"fail","Package":"example.com/tsamp/p","Test":"TestBad/sub","Elapsed":0}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"example.com/tsamp/p","Test":"TestBad","Elapsed":0}
{"Action":"run","Package":"example.com/tsamp/p","Test":"TestSkip"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestSkip","Output":"=== RUN   TestSkip\n"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestSkip","Output":"    p_test.go:5: no dovecot\n"}
{"Action":"output","Package":"example.com/tsamp/p","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}
{"Action":"skip","Package":"example.com/tsamp/p","Test":"TestSkip","Elapsed":0}
{"Action":"output","Package":"example.com/tsamp/p","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/tsamp/p","Output":"FAIL\texample.com/tsamp/p\t0.006s\n"}
{"Action":"fail","Package":"example.com/tsamp/p","Elapsed":0.007}
`

func TestRunCountsAndReports(t *testing.T) {
	var out strings.Builder
	s, err := run(strings.NewReader(recorded), &out, "sqlite", false)
	if err != nil {
		t.Fatal(err)
	}
	// TestBad/sub and its parent TestBad fail, and the unbuildable package
	// counts as one more failure.
	if s.passed != 1 || s.failed != 3 || s.skipped != 1 || !s.bad {
		t.Errorf("passed %d failed %d skipped %d bad %v, want 1 3 1 true", s.passed, s.failed, s.skipped, s.bad)
	}
	got := out.String()
	for _, want := range []string{
		"p_test.go:4: boom here",    // a failed test's output
		"undefined: undefined",      // the build error
		"FAIL\texample.com/tsamp/p", // go test's package line
		"SKIP example.com/tsamp/p.TestSkip: p_test.go:5: no dovecot",
		"FAIL example.com/tsamp/q (build failed)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "=== RUN   TestOK") {
		t.Errorf("a passing test's output should not be printed:\n%s", got)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if last := lines[len(lines)-1]; last != "sqlite: 1 passed, 3 failed, 1 skipped" {
		t.Errorf("closing line %q", last)
	}
}

func TestSkipFailsOnlyWhenAskedTo(t *testing.T) {
	const onlySkip = `{"Action":"run","Package":"p","Test":"TestS"}
{"Action":"output","Package":"p","Test":"TestS","Output":"    s_test.go:1: radicale not installed\n"}
{"Action":"skip","Package":"p","Test":"TestS"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}
{"Action":"pass","Package":"p"}
`
	for _, ci := range []bool{false, true} {
		var out strings.Builder
		s, err := run(strings.NewReader(onlySkip), &out, "postgres", ci)
		if err != nil {
			t.Fatal(err)
		}
		if s.bad != ci {
			t.Errorf("fail-on-skip=%v: bad=%v\n%s", ci, s.bad, out.String())
		}
		if !strings.Contains(out.String(), "ok  \tp\t0.01s") || !strings.Contains(out.String(), "radicale not installed") {
			t.Errorf("report lacks the package line or the skip reason:\n%s", out.String())
		}
	}
}

func TestTimedOutTestCountsAsFailed(t *testing.T) {
	const timedOut = `{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"pass","Package":"p","Test":"TestOK"}
{"Action":"run","Package":"p","Test":"TestHang"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"p","Output":"panic: test timed out after 10m0s\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t600.1s\n"}
{"Action":"fail","Package":"p"}
`
	var out strings.Builder
	s, err := run(strings.NewReader(timedOut), &out, "sqlite", false)
	if err != nil {
		t.Fatal(err)
	}
	if s.passed != 1 || s.failed != 1 || !s.bad {
		t.Errorf("passed %d failed %d bad %v, want 1 1 true", s.passed, s.failed, s.bad)
	}
	for _, want := range []string{"panic: test timed out", "=== RUN   TestHang", "FAIL p.TestHang (did not finish)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
