// Command apisuite runs the test suite of github.com/hashicorp/nomad/api
// (the Go client Roam serves) against Roam: it builds roam, puts it first
// on PATH under the name `nomad` (the suite's harness starts `nomad agent
// -dev -config FILE`), runs the package's tests, and compares the failures
// with a checked-in list of tests expected to fail, each with its reason.
//
// It exits 1 when a test fails that is not on the list. A test on the
// list that passes is reported, to be taken off it. A test that panics
// stops the test binary; the run is then resumed without the tests that
// already finished, so one crash costs one test, not the rest.
//
// Usage (from the repository root; scripts/nomad-api-suite wraps it):
//
//	go run ./scripts/apisuite [-expected FILE] [-roam BINARY] [-parallel N] [-run REGEXP] [-v]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// apiPackage is the package whose tests are run.
const apiPackage = "github.com/hashicorp/nomad/api"

func main() {
	expectedPath := flag.String("expected", "scripts/nomad-api-suite.expected-failures", "the list of tests expected to fail")
	parallel := flag.Int("parallel", 6, "tests run at once (each starts an agent)")
	run := flag.String("run", "", "run only the tests matching this regexp")
	verbose := flag.Bool("v", false, "print the output of failing tests")
	roam := flag.String("roam", "", "a roam binary to test instead of building one")
	flag.Parse()
	if err := suite(*expectedPath, *roam, *parallel, *run, *verbose, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nomad-api-suite:", err)
		os.Exit(1)
	}
}

// suite runs the whole check and reports to out.
func suite(expectedPath, roam string, parallel int, run string, verbose bool, out io.Writer) error {
	expected, err := readExpected(expectedPath)
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "nomad-api-suite")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	if roam == "" {
		fmt.Fprintln(out, "==> building roam as nomad")
		build := exec.Command("go", "build", "-o", filepath.Join(bin, "nomad"), "./cmd/roam")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build roam: %w", err)
		}
	} else {
		abs, err := filepath.Abs(roam)
		if err != nil {
			return err
		}
		if err := os.Symlink(abs, filepath.Join(bin, "nomad")); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "==> go test %s (%d at once)\n", apiPackage, parallel)
	res, err := runTests(bin, parallel, run)
	if err != nil {
		return err
	}
	// Each test starts an agent and gives it ten seconds: on a loaded
	// machine a few miss that. Unexpected failures get one more try, one
	// at a time, and are named when they pass then.
	if retry := unexpectedFailures(res, expected); len(retry) > 0 {
		fmt.Fprintf(out, "==> trying %d unexpected failures again, one at a time\n", len(retry))
		again, err := runTests(bin, 1, "^("+strings.Join(quoteAll(retry), "|")+")$")
		if err != nil {
			return err
		}
		for _, name := range retry {
			if again.status[name] == "pass" {
				fmt.Fprintf(out, "  passed on the second try: %s\n", name)
				res.status[name] = "pass"
			}
		}
	}
	if report(res, expected, run, verbose, out) {
		return fmt.Errorf("tests failed that are not on %s", expectedPath)
	}
	return nil
}

// runTests runs the api package's tests until every one has a result,
// resuming after a test that crashed the binary.
func runTests(bin string, parallel int, run string) (*results, error) {
	all, err := listTests(run)
	if err != nil {
		return nil, err
	}
	res := newResults(all)
	for {
		args := []string{"test", apiPackage, "-count=1", "-json", "-timeout=15m",
			fmt.Sprintf("-parallel=%d", parallel)}
		if run != "" {
			args = append(args, "-run", run)
		}
		if done := res.finished(); len(done) > 0 {
			args = append(args, "-skip", "^("+strings.Join(quoteAll(done), "|")+")$")
		}
		cmd := exec.Command("go", args...)
		cmd.Env = testEnv(bin)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		before := len(res.status)
		if err := res.read(stdout); err != nil {
			return nil, err
		}
		_ = cmd.Wait() // failing tests make it exit 1: the results say why
		unfinished := res.unfinished()
		if len(unfinished) == 0 {
			return res, nil
		}
		if len(res.status) == before {
			// No progress: whatever is left failed without a result.
			for _, t := range unfinished {
				res.status[t] = "fail"
			}
			return res, nil
		}
		fmt.Fprintf(os.Stderr, "==> the test binary stopped with %d tests unfinished; resuming\n", len(unfinished))
	}
}

// listTests lists the package's top-level tests that match run.
func listTests(run string) ([]string, error) {
	if run == "" {
		run = "."
	}
	out, err := exec.Command("go", "test", apiPackage, "-list", run).Output()
	if err != nil {
		return nil, fmt.Errorf("go test -list: %w", err)
	}
	var tests []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Test") {
			tests = append(tests, l)
		}
	}
	return tests, nil
}

// testEnv is the environment of the test binary: roam first on PATH, and
// none of the variables that would point the client at another agent.
func testEnv(bin string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NOMAD_") || strings.HasPrefix(kv, "ROAM_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// quoteAll escapes test names for a regexp.
func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = regexp.QuoteMeta(n)
	}
	return out
}

// readExpected reads the expected-failure list: one test name a line,
// then `# reason`; blank lines and lines starting with # are comments.
func readExpected(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, "#")
		name, reason = strings.TrimSpace(name), strings.TrimSpace(reason)
		if strings.ContainsAny(name, " \t") || reason == "" {
			return nil, fmt.Errorf("%s:%d: want `TestName # reason`, got %q", path, n, line)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", path, n, name)
		}
		out[name] = reason
	}
	return out, sc.Err()
}

// unexpectedFailures lists the failed tests that are not expected to fail.
func unexpectedFailures(res *results, expected map[string]string) []string {
	var out []string
	for name, st := range res.status {
		if _, ok := expected[name]; !ok && st == "fail" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// report prints the counts and the differences from the expected list,
// and says whether a test failed that was not expected to.
func report(res *results, expected map[string]string, run string, verbose bool, out io.Writer) bool {
	var passed, failed, skipped, unexpected, nowPass []string
	for name, st := range res.status {
		flaky := strings.HasPrefix(expected[name], "flaky:")
		switch st {
		case "pass":
			passed = append(passed, name)
			if _, ok := expected[name]; ok && !flaky {
				nowPass = append(nowPass, name)
			}
		case "skip":
			skipped = append(skipped, name)
		default:
			failed = append(failed, name)
			if _, ok := expected[name]; !ok {
				unexpected = append(unexpected, name)
			}
		}
	}
	for _, l := range [][]string{failed, unexpected, nowPass} {
		sort.Strings(l)
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n", len(passed), len(failed), len(skipped))
	for _, name := range failed {
		reason, ok := expected[name]
		if !ok {
			reason = "NOT EXPECTED"
		}
		fmt.Fprintf(out, "  FAIL %s  (%s)\n", name, reason)
		if verbose && !ok {
			fmt.Fprint(out, indent(res.output[name]))
		}
	}
	for _, name := range nowPass {
		fmt.Fprintf(out, "  now passes, remove it from the expected failures: %s\n", name)
	}
	if run == "" {
		var missing []string
		for name := range expected {
			if _, ok := res.status[name]; !ok {
				missing = append(missing, name)
			}
		}
		sort.Strings(missing)
		for _, name := range missing {
			fmt.Fprintf(out, "  no such test, remove it from the expected failures: %s\n", name)
		}
	}
	if len(unexpected) > 0 {
		fmt.Fprintf(out, "%d unexpected failures: %s\n", len(unexpected), strings.Join(unexpected, " "))
	}
	return len(unexpected) > 0
}

// indent prefixes each line of s for the report.
func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("      " + l)
		}
	}
	if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
		b.WriteString("\n")
	}
	return b.String()
}
