package apicheck

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Log collects checked replies by the test that received them, for a report after the run.
// Safe for concurrent use.
type Log struct {
	mu       sync.Mutex
	checked  int
	seen     map[string]int      // what replies were checked against -> how many
	failures map[string][]string // by test
	exempted map[string]string   // test -> why its failures do not count
}

// Add records one reply, checked against what, under test; err is what Check said of it.
func (l *Log) Add(test, what string, r Reply, uri string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen, l.failures = map[string]int{}, map[string][]string{}
	}
	l.checked++
	l.seen[what]++
	if _, ok := l.exempted[test]; err == nil || ok {
		return
	}
	body := string(r.Body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	uri = tokenRE.ReplaceAllString(uri, "${1}<jwt>")
	l.failures[test] = append(l.failures[test], fmt.Sprintf("%s %s answered %d: %v\n  body: %s", r.Method, uri, r.Status, err, body))
}

var tokenRE = regexp.MustCompile(`([?&]token=)[^&\s]+`)

// Exempt stops counting the failures of test's replies (why is in the verbose report): for a
// test whose fake answers what the real server never does.
func (l *Log) Exempt(test, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.exempted == nil {
		l.exempted = map[string]string{}
	}
	l.exempted[test] = why
}

// Report writes the failures by test and, verbose, what the replies covered of d's
// operations; true if any reply failed.
func (l *Log) Report(w io.Writer, d *Doc, verbose bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, f := range l.failures {
		n += len(f)
	}
	if n > 0 {
		fmt.Fprintf(w, "\nopenapi.json: %d of the %d replies the tests received do not match the document:\n", n, l.checked)
		for _, test := range slices.Sorted(maps.Keys(l.failures)) {
			fmt.Fprintf(w, "  %s:\n", test)
			for _, f := range l.failures[test] {
				fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(f, "\n", "\n    "))
			}
		}
	}
	if verbose {
		fmt.Fprintf(w, "openapi.json: %d replies checked, against %d (operation, status) pairs\n", l.checked, len(l.seen))
		for _, test := range slices.Sorted(maps.Keys(l.exempted)) {
			fmt.Fprintf(w, "openapi.json: the replies of %s do not count: %s\n", test, l.exempted[test])
		}
		reached := map[string]bool{}
		for what := range l.seen {
			if f := strings.Fields(what); len(f) >= 2 {
				reached[f[0]+" "+f[1]] = true
			}
		}
		for _, op := range d.Operations() {
			if !reached[op.Method+" "+op.Path] {
				fmt.Fprintf(w, "openapi.json: no test reached %s %s\n", op.Method, op.Path)
			}
		}
	}
	return n > 0
}

var testFuncRE = regexp.MustCompile(`\.((?:Test|Benchmark|Fuzz|Example)[A-Za-z0-9_]*)(?:\.|$)`)

// CallingTest names the test function on the caller's stack, a closure of it included
// (TestMain is none): "?" when there is none (a goroutine running other code).
func CallingTest() string {
	pc := make([]uintptr, 64)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		if m := testFuncRE.FindStringSubmatch(f.Function); m != nil && m[1] != "TestMain" && strings.HasSuffix(f.File, "_test.go") {
			return m[1]
		}
		if !more {
			return "?"
		}
	}
}
