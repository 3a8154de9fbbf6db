//go:build tensorflow

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unmirror/unmirror/internal/fixtures"
)

var (
	update         = flag.Bool("update", false, "rewrite the golden file (testdata/before.json, or testdata/after.json for the rewritten test) from this run")
	fixtureTimeout = flag.Duration("load-timeout", 60*time.Second, "deadline for loading and running one fixture")
	models         = flag.String("models", "", "directory with manifest.json and the original fixtures, "+
		"instead of testdata/models (the golden file is then neither compared nor written)")
)

const (
	// childEnv makes the test binary act as the serve program, so each
	// fixture loads in its own process that can be killed when it hangs.
	childEnv = "UNMIRROR_SERVE_CHILD"
	// rewrittenEnv names a directory holding rewritten fixtures, one
	// sub-directory per manifest name; see TestConformanceRewritten.
	rewrittenEnv = "UNMIRROR_REWRITTEN"
	// goldenBefore and goldenAfter are the golden files of the originals
	// and of the rewritten fixtures; testdata/tf/check_corpus.py reads both
	// into the "go" rows of the table in testdata/models/README.md.
	goldenBefore = "testdata/before.json"
	goldenAfter  = "testdata/after.json"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if os.Getenv("TF_CPP_MIN_LOG_LEVEL") == "" {
		os.Setenv("TF_CPP_MIN_LOG_LEVEL", "2") // TF's info logs drown test output
	}
	os.Exit(m.Run())
}

// readManifest reads the fixture manifest through internal/fixtures: the
// committed testdata/models, or the -models directory.
func readManifest(t *testing.T) *fixtures.Manifest {
	t.Helper()
	dir := *models
	if dir == "" {
		var err error
		if dir, err = fixtures.ModelsDir(); err != nil {
			t.Fatal(err)
		}
	}
	m, err := fixtures.LoadManifest(dir)
	if err != nil {
		t.Fatalf("%v (the fixtures come from testdata/tf/generate.py)", err)
	}
	if len(m.Fixtures) == 0 {
		t.Fatalf("%s/manifest.json lists no fixtures", dir)
	}
	return m
}

// toTensor converts a manifest tensor to the serve program's form.
func toTensor(ft fixtures.Tensor) (*Tensor, error) {
	b, err := json.Marshal(ft)
	if err != nil {
		return nil, err
	}
	var t Tensor
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// childRun is what one child serve process did.
type childRun struct {
	resp     *response // nil if it timed out or died without a response
	timedOut bool
	loaded   bool   // it reported the model loaded (see progressLoaded)
	exit     error  // cmd.Run's error
	stderr   string // its stderr (TF's logs)
}

// runChild runs the test binary as the serve program on dir with a
// deadline, feeding inFile to signature; signature "" only loads the model.
func runChild(dir string, tags []string, inFile, signature string) childRun {
	ctx, cancel := context.WithTimeout(context.Background(), *fixtureTimeout)
	defer cancel()
	args := []string{"-dir", dir, "-tags", strings.Join(tags, ",")}
	if signature != "" {
		args = append(args, "-signature", signature, "-inputs", inFile)
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.WaitDelay = 5 * time.Second
	dieWithParent(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	c := childRun{
		timedOut: errors.Is(ctx.Err(), context.DeadlineExceeded),
		loaded:   strings.Contains(stderr.String(), progressLoaded),
		exit:     err,
		stderr:   stderr.String(),
	}
	var r response
	if !c.timedOut && json.Unmarshal(lastJSONLine(stdout.Bytes()), &r) == nil {
		c.resp = &r
	}
	return c
}

// writeJSON writes v to a new file in dir.
func writeJSON(dir, name string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, b, 0o644)
}

// checkFixture loads the SavedModel in dir and runs each signature of fx on
// the manifest's inputs, one child process per signature, all at once, each
// with a deadline (so a signature that waits forever, such as a collective
// with absent peers, hides neither the others nor whether the model
// loaded), and compares the outputs with the manifest's. The error is for a
// fault of the harness (files, the manifest's inputs refused), not of TF.
func checkFixture(t *testing.T, dir string, fx fixtures.Fixture) (Result, error) {
	res := Result{Fixture: fx.Name}
	tmp := t.TempDir()
	tags := fx.Tags
	if len(tags) == 0 {
		tags = []string{"serve"}
	}
	names := make([]string, 0, len(fx.Signatures))
	for name := range fx.Signatures {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		names = []string{""} // load only
	}
	runs := make([]childRun, len(names))
	start := time.Now()
	var wg sync.WaitGroup
	for i, name := range names {
		inFile := ""
		if name != "" {
			var err error
			if inFile, err = writeJSON(tmp, fmt.Sprintf("inputs-%d.json", i), fx.Signatures[name].Inputs); err != nil {
				return res, err
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = runChild(dir, tags, inFile, name)
		}()
	}
	wg.Wait()
	t.Logf("%s: %d children took %v", fx.Name, len(runs), time.Since(start).Round(time.Millisecond))

	// The load outcome: any child's load error or crash; a timeout only if
	// no child got past the load.
	loaded := false
	for i, c := range runs {
		switch {
		case c.resp != nil && c.resp.Stage == stageInput:
			return res, fmt.Errorf("%s: signature %s: the manifest's inputs were refused: %s", fx.Name, names[i], c.resp.Error)
		case c.resp != nil && c.resp.Stage == stageLoad:
			res.Load, res.Error = loadError, normalizeError(c.resp.Error, dir)
			return res, nil
		case c.resp == nil && !c.timedOut && !c.loaded:
			t.Logf("%s: no response (%v); stderr tail:\n%s", fx.Name, c.exit, tail(c.stderr, 2000))
			res.Load, res.Error = loadError, fmt.Sprintf("crashed: %v", c.exit)
			return res, nil
		}
		loaded = loaded || c.loaded
	}
	if !loaded {
		res.Load = loadTimeout
		return res, nil
	}
	res.Load = loadOK
	for i, name := range names {
		if name == "" {
			continue
		}
		if res.Signatures == nil {
			res.Signatures = map[string]string{}
		}
		switch c := runs[i]; {
		case c.timedOut:
			res.Signatures[name] = loadTimeout
		case c.resp == nil:
			t.Logf("%s: signature %s: no response (%v); stderr tail:\n%s", fx.Name, name, c.exit, tail(c.stderr, 2000))
			res.Signatures[name] = fmt.Sprintf("error: crashed: %v", c.exit)
		default:
			want := map[string]*Tensor{}
			for k, ft := range fx.Signatures[name].Outputs {
				w, err := toTensor(ft)
				if err != nil {
					return res, fmt.Errorf("%s: signature %s output %s: %w", fx.Name, name, k, err)
				}
				want[k] = w
			}
			res.Signatures[name] = signatureOutcome(c.resp.Signatures[name], want, fx.FloatTolerance, dir)
		}
	}
	return res, nil
}

// signatureOutcome is "ok", "error: <first line>" or "mismatch: <why>".
func signatureOutcome(got sigResult, want map[string]*Tensor, tol float64, dir string) string {
	if got.Error != "" {
		return "error: " + normalizeError(got.Error, dir)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got.Outputs[k]
		if !ok {
			return fmt.Sprintf("mismatch: no output %q", k)
		}
		if err := Compare(g, want[k], tol); err != nil {
			var m *Mismatch
			if errors.As(err, &m) {
				return fmt.Sprintf("mismatch: %s: %s", k, m.Reason)
			}
			return fmt.Sprintf("mismatch: %s: %v", k, err)
		}
	}
	for k := range got.Outputs {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("mismatch: output %q not in the manifest", k)
		}
	}
	return "ok"
}

func lastJSONLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if bytes.HasPrefix(lines[i], []byte("{")) {
			return lines[i]
		}
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// checkAll checks every fixture of m found under root, two at a time (the
// machines have two cores), and returns the results in manifest order and
// the names of fixtures with no directory under root.
func checkAll(t *testing.T, m *fixtures.Manifest, root string) (results []Result, missing []string) {
	t.Helper()
	type job struct {
		i   int
		res Result
		err error
	}
	slots := make(chan struct{}, 2)
	done := make(chan job)
	n := 0
	for i, fx := range m.Fixtures {
		dir, err := filepath.Abs(filepath.Join(root, fx.Name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); err != nil {
			missing = append(missing, fx.Name)
			continue
		}
		n++
		go func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			res, err := checkFixture(t, dir, fx)
			done <- job{i, res, err}
		}()
	}
	byIndex := map[int]Result{}
	for ; n > 0; n-- {
		j := <-done
		if j.err != nil {
			t.Error(j.err)
		}
		byIndex[j.i] = j.res
	}
	for i := range m.Fixtures {
		if r, ok := byIndex[i]; ok {
			results = append(results, r)
		}
	}
	return results, missing
}

// TestConformanceOriginals loads every ORIGINAL fixture as a Go serving
// process would and compares what happened (loads or not, TF's error,
// signatures matching the manifest's outputs) with testdata/before.json.
// Run with -update to rewrite the golden file; print it as a table with
// `go run ./examples/serve -table examples/serve/testdata/before.json`, or
// regenerate the fixtures' table (testdata/tf/check_corpus.py --table).
func TestConformanceOriginals(t *testing.T) {
	m := readManifest(t)
	root := *models
	if root == "" {
		root, _ = fixtures.ModelsDir() // readManifest succeeded with it
	}
	results, missing := checkAll(t, m, root)
	if len(missing) > 0 {
		t.Errorf("fixtures listed in the manifest but missing under %s: %s", root, strings.Join(missing, ", "))
	}
	checkTF1Column(t, m, results)
	checkGolden(t, goldenBefore, &Golden{TensorFlowVersion: m.TensorFlowVersion, Fixtures: results}, "Originals")
}

// checkGolden logs got as a table and, unless -models names another corpus,
// writes it to path with -update or else requires it to equal path's
// content; run names the test for the hint on how to update.
func checkGolden(t *testing.T, path string, got *Golden, run string) {
	t.Helper()
	b, err := marshalGolden(got)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := writeTable(&table, got); err != nil {
		t.Fatal(err)
	}
	t.Logf("Go column (%s):\n%s", path, table.String())
	if *models != "" {
		t.Logf("-models %s: %s not compared", *models, path)
		return
	}
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := readGolden(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	diffGolden(t, path, want, got)
	if t.Failed() {
		t.Logf("if the fixtures, the rewriter or TensorFlow changed on purpose: bash examples/serve/cgo-env.sh -- "+
			"go test -tags tensorflow ./examples/serve/ -run %s -update, and commit %s", run, path)
	}
}

// checkTF1Column requires Go's outcome to agree with the manifest's "tf1"
// column (Python's graph-mode loader in a Session with soft placement off,
// which the manifest documents as what the C++ loader does): a fixture
// passes in Go (loads, every signature matches) exactly when it passes
// there.
func checkTF1Column(t *testing.T, m *fixtures.Manifest, results []Result) {
	t.Helper()
	byName := map[string]fixtures.Fixture{}
	for _, fx := range m.Fixtures {
		byName[fx.Name] = fx
	}
	for _, r := range results {
		tf1, ok := byName[r.Fixture].Before[fixtures.RuntimeTF1]
		if !ok {
			continue
		}
		if pass := r.passes(); pass != tf1.OK {
			t.Errorf("%s: Go %s, but the manifest's tf1 column says ok=%v (%s)", r.Fixture, r.Summary(), tf1.OK, firstLine(tf1.Error))
		}
	}
}

// diffGolden reports every fixture whose result differs from the golden one.
func diffGolden(t *testing.T, path string, want, got *Golden) {
	t.Helper()
	if want.TensorFlowVersion != got.TensorFlowVersion {
		t.Errorf("tensorflow_version %q, golden %q", got.TensorFlowVersion, want.TensorFlowVersion)
	}
	wantBy := map[string]Result{}
	for _, r := range want.Fixtures {
		wantBy[r.Fixture] = r
	}
	seen := map[string]bool{}
	for _, g := range got.Fixtures {
		seen[g.Fixture] = true
		w, ok := wantBy[g.Fixture]
		if !ok {
			t.Errorf("%s: not in %s; got %s", g.Fixture, path, g.Summary())
			continue
		}
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s changed:\n got    %s\n golden %s", g.Fixture, gb, wb)
		}
	}
	for _, w := range want.Fixtures {
		if !seen[w.Fixture] {
			t.Errorf("%s: in %s but not checked", w.Fixture, path)
		}
	}
}

// TestConformanceRewritten requires every fixture rewritten into the
// directory named by $UNMIRROR_REWRITTEN (one sub-directory per manifest
// name) to load in a Go serving process and reproduce the manifest's
// outputs (as [fixtures.Signature.ExpectedAfter]) on every signature,
// whatever the golden file says; and what happened must equal the golden
// file testdata/after.json (written instead with -update).
func TestConformanceRewritten(t *testing.T) {
	root := os.Getenv(rewrittenEnv)
	if root == "" {
		t.Skipf("$%s is not set", rewrittenEnv)
	}
	m := readManifest(t)
	// A rewritten model computes what one replica computes: where that
	// differs from the strategy run (collectives), TF's own one-replica
	// outputs are the expectation.
	for i := range m.Fixtures {
		for name, sig := range m.Fixtures[i].Signatures {
			sig.Outputs = sig.ExpectedAfter()
			m.Fixtures[i].Signatures[name] = sig
		}
	}
	results, missing := checkAll(t, m, root)
	if len(results) == 0 {
		t.Fatalf("no manifest fixture found under %s", root)
	}
	if len(missing) > 0 {
		t.Errorf("not rewritten (no directory under %s): %s", root, strings.Join(missing, ", "))
	}
	for _, r := range results {
		if !r.passes() {
			t.Errorf("%s: %s", r.Fixture, r.Summary())
		} else {
			t.Logf("%s: %s", r.Fixture, r.Summary())
		}
	}
	checkGolden(t, goldenAfter, &Golden{TensorFlowVersion: m.TensorFlowVersion, Fixtures: results}, "Rewritten")
}
