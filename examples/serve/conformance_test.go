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
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var (
	update         = flag.Bool("update", false, "rewrite testdata/before.json from this run")
	fixtureTimeout = flag.Duration("load-timeout", 60*time.Second, "deadline for loading and running one fixture")
	models         = flag.String("models", modelsDir, "directory with manifest.json and the original fixtures "+
		"(the golden file is only compared or written for the default)")
)

const (
	// childEnv makes the test binary act as the serve program, so each
	// fixture loads in its own process that can be killed when it hangs.
	childEnv = "UNMIRROR_SERVE_CHILD"
	// rewrittenEnv names a directory holding rewritten fixtures, one
	// sub-directory per manifest name; see TestConformanceRewritten.
	rewrittenEnv = "UNMIRROR_REWRITTEN"
	goldenPath   = "testdata/before.json"
	modelsDir    = "../../testdata/models"
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

// fixture is the part of a manifest entry (testdata/models/manifest.json)
// the conformance test uses.
type fixture struct {
	Name           string   `json:"name"`
	Tags           []string `json:"tags"`
	FloatTolerance float64  `json:"float_tolerance"`
	Signatures     map[string]struct {
		Inputs  map[string]*Tensor `json:"inputs"`
		Outputs map[string]*Tensor `json:"outputs"`
	} `json:"signatures"`
}

type manifest struct {
	TensorFlowVersion string    `json:"tensorflow_version"`
	Fixtures          []fixture `json:"fixtures"`
}

func readManifest(t *testing.T) *manifest {
	t.Helper()
	path := filepath.Join(*models, "manifest.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (the fixtures come from testdata/tf/generate.py)", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(m.Fixtures) == 0 {
		t.Fatalf("%s lists no fixtures", path)
	}
	return &m
}

var hostRE = regexp.MustCompile(`binary running on \S+`)

// normalizeError keeps what is stable across machines and checkouts of a
// TF error: its first line, with the model directory and host name masked.
func normalizeError(msg, dir string) string {
	msg = strings.ReplaceAll(msg, dir, "<model>")
	msg = hostRE.ReplaceAllString(msg, "binary running on <host>")
	return firstLine(msg)
}

// checkFixture loads the SavedModel in dir in a child process with a
// deadline, runs every signature of fx on the manifest's inputs and
// compares the outputs with the manifest's. The error is for a fault of the
// harness (the inputs file, the manifest's inputs refused), not of TF.
func checkFixture(t *testing.T, dir string, fx fixture) (Result, error) {
	res := Result{Fixture: fx.Name}
	inputs, err := json.Marshal(fx.Signatures)
	if err != nil {
		return res, err
	}
	inFile := filepath.Join(t.TempDir(), "inputs.json")
	if err := os.WriteFile(inFile, inputs, 0o644); err != nil {
		return res, err
	}
	tags := fx.Tags
	if len(tags) == 0 {
		tags = []string{"serve"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *fixtureTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-dir", dir, "-tags", strings.Join(tags, ","), "-inputs", inFile)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("%s: child took %v", fx.Name, time.Since(start).Round(time.Millisecond))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		res.Load = loadTimeout
		return res, nil
	}
	var r response
	if err := json.Unmarshal(lastJSONLine(stdout.Bytes()), &r); err != nil {
		// No response: TensorFlow aborted the process.
		t.Logf("%s: no response (%v); stderr tail:\n%s", fx.Name, runErr, tail(stderr.String(), 2000))
		res.Load, res.Error = loadError, fmt.Sprintf("crashed: %v", runErr)
		return res, nil
	}
	switch r.Stage {
	case stageInput:
		return res, fmt.Errorf("%s: the manifest's inputs were refused: %s", fx.Name, r.Error)
	case stageLoad:
		res.Load, res.Error = loadError, normalizeError(r.Error, dir)
		return res, nil
	}
	res.Load = loadOK
	res.Signatures = map[string]string{}
	for name, sig := range fx.Signatures {
		res.Signatures[name] = signatureOutcome(r.Signatures[name], sig.Outputs, fx.FloatTolerance, dir)
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
func checkAll(t *testing.T, m *manifest, root string) (results []Result, missing []string) {
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
// `go run ./examples/serve -table examples/serve/testdata/before.json`.
func TestConformanceOriginals(t *testing.T) {
	m := readManifest(t)
	results, missing := checkAll(t, m, *models)
	if len(missing) > 0 {
		t.Errorf("fixtures listed in the manifest but missing under %s: %s", *models, strings.Join(missing, ", "))
	}
	got := &Golden{TensorFlowVersion: m.TensorFlowVersion, Fixtures: results}
	b, err := marshalGolden(got)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := writeTable(&table, got); err != nil {
		t.Fatal(err)
	}
	t.Logf("Go column:\n%s", table.String())
	if *models != modelsDir {
		t.Logf("-models %s: %s not compared", *models, goldenPath)
		return
	}
	if *update {
		if err := os.WriteFile(goldenPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := readGolden(goldenPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	diffGolden(t, want, got)
}

// diffGolden reports every fixture whose result differs from the golden one.
func diffGolden(t *testing.T, want, got *Golden) {
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
			t.Errorf("%s: not in %s; got %s", g.Fixture, goldenPath, g.Summary())
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
			t.Errorf("%s: in %s but not checked", w.Fixture, goldenPath)
		}
	}
}

// TestConformanceRewritten requires every fixture rewritten into the
// directory named by $UNMIRROR_REWRITTEN (one sub-directory per manifest
// name) to load in a Go serving process and reproduce the manifest's
// outputs on every signature.
func TestConformanceRewritten(t *testing.T) {
	root := os.Getenv(rewrittenEnv)
	if root == "" {
		t.Skipf("$%s is not set", rewrittenEnv)
	}
	m := readManifest(t)
	results, missing := checkAll(t, m, root)
	if len(results) == 0 {
		t.Fatalf("no manifest fixture found under %s", root)
	}
	if len(missing) > 0 {
		t.Logf("not rewritten (no directory under %s): %s", root, strings.Join(missing, ", "))
	}
	for _, r := range results {
		bad := r.Load != loadOK
		for _, s := range r.Signatures {
			bad = bad || s != "ok"
		}
		if bad {
			t.Errorf("%s: %s", r.Fixture, r.Summary())
		} else {
			t.Logf("%s: %s", r.Fixture, r.Summary())
		}
	}
}
