package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// TestQuickStart is the README's quick start: rewrite a fixture that the
// C++-like loader refuses, verify the result, and diff the two.
func TestQuickStart(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	r := cli(t, "rewrite", fixture("mirrored_expand"), out)
	if r.code != 0 {
		t.Fatalf("rewrite: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "wrote "+out) {
		t.Errorf("rewrite output does not say it wrote %s:\n%s", out, r.stdout)
	}
	for _, args := range [][]string{{"verify", out}, {"verify", "--target", "gpu", out}} {
		if v := cli(t, args...); v.code != 0 || !strings.HasPrefix(v.stdout, "ok: ") {
			t.Errorf("%v: exit %d\n%s%s", args, v.code, v.stdout, v.stderr)
		}
	}
	if v := cli(t, "verify", fixture("mirrored_expand")); v.code != 1 {
		t.Errorf("verify of the input: exit %d, want 1", v.code)
	}
	d := cli(t, "diff", fixture("mirrored_expand"), out)
	if d.code != 1 || !strings.Contains(d.stdout, "VarHandleOp") || !strings.Contains(d.stdout, "/job:localhost/replica:0/task:0/device:CPU:1") {
		t.Errorf("diff: exit %d\n%s%s", d.code, d.stdout, d.stderr)
	}
	// --force replaces a model; the second rewrite of the output is a no-op.
	again := filepath.Join(t.TempDir(), "again")
	if r := cli(t, "rewrite", "--quiet", out, again); r.code != 0 || r.stdout != "" {
		t.Fatalf("rewrite of the output: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, "rewrite", "--force", "--passes", "none", "--text", fixture("plain"), again); r.code != 0 {
		t.Fatalf("rewrite --force: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(again, savedmodel.SavedModelPBText)); err != nil {
		t.Errorf("--text: %v", err)
	}
	if d := cli(t, "diff", fixture("plain"), again); d.code != 0 {
		t.Errorf("a read-and-write round trip differs from its input: exit %d\n%s", d.code, d.stdout)
	}
}

// copyModel writes a copy of a fixture's saved_model.pb into a new directory
// named name and returns it with a reader on the fixture's checkpoint and a
// writer for the copy's, with the same number of shards. The caller copies or
// adds entries and closes the writer; the reader closes with the test.
func copyModel(t *testing.T, fixtureName, name string) (string, *bundle.Reader, *bundle.Writer) {
	t.Helper()
	src := fixture(fixtureName)
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(dir, savedmodel.VariablesDir), 0o755); err != nil {
		t.Fatal(err)
	}
	pb, err := os.ReadFile(filepath.Join(src, savedmodel.SavedModelPB))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, savedmodel.SavedModelPB), pb, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := bundle.Open(os.DirFS(src), savedmodel.VariablesPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	w, err := bundle.NewWriter(dir, savedmodel.VariablesPrefix, bundle.WriterOptions{NumShards: r.NumShards()})
	if err != nil {
		t.Fatal(err)
	}
	return dir, r, w
}

// bigModel writes a copy of the plain fixture whose checkpoint holds an extra
// float tensor of size bytes, so that writing it takes a moment.
func bigModel(t *testing.T, size int64) string {
	t.Helper()
	dir, r, w := copyModel(t, "plain", "big")
	for _, k := range r.KeysInDataOrder() {
		if err := w.Copy(r, k); err != nil {
			t.Fatal(err)
		}
	}
	entry := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT,
		Shape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: size / 4}}}}
	if err := w.Add("big/.ATTRIBUTES/VARIABLE_VALUE", entry, io.LimitReader(zeros{}, size)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestInterruptedRewrite sends SIGINT to a rewrite while it writes a large
// checkpoint: the command must exit 3 and leave neither DST nor its
// temporary directory behind.
func TestInterruptedRewrite(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 512 MiB model")
	}
	src := bigModel(t, 512<<20)
	parent := t.TempDir()
	dst := filepath.Join(parent, "out")
	cmd := exec.Command(binary, "rewrite", "--passes", "none", src, dst)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Wait for Write's temporary directory, then interrupt.
	deadline := time.Now().Add(30 * time.Second)
	signalled := false
	for !signalled && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("rewrite finished before it could be interrupted (err %v); stderr:\n%s", err, stderr.String())
		default:
		}
		if ents, _ := os.ReadDir(parent); len(ents) > 0 && strings.Contains(ents[0].Name(), ".unmirror-tmp-") {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !signalled {
		t.Fatal("no temporary directory appeared")
	}
	err := <-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitIO {
		t.Fatalf("exit %v, want %d; stderr:\n%s", err, exitIO, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted; nothing written to "+dst) {
		t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// divergedTowers writes a copy of the tf1_towers fixture whose tower_1/w
// checkpoint value differs from its primary w.
func divergedTowers(t *testing.T) string {
	t.Helper()
	dir, r, w := copyModel(t, "tf1_towers", "diverged")
	for _, k := range r.KeysInDataOrder() {
		if k != "tower_1/w" {
			if err := w.Copy(r, k); err != nil {
				t.Fatal(err)
			}
			continue
		}
		e, _ := r.Entry(k)
		data := strings.Repeat("\x00\x00\x80\x3f", 12) // twelve float32 1.0
		if err := w.Add(k, &tfpb.BundleEntryProto{Dtype: e.GetDtype(), Shape: e.GetShape(), ShardId: e.GetShardId()}, strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRewritePassError checks that a pass failing (replicas whose values
// diverge) is exit 3 with the pass and the variable named, and that
// --allow-divergence gets past it.
func TestRewritePassError(t *testing.T) {
	src := divergedTowers(t)
	out := filepath.Join(t.TempDir(), "out")
	r := cli(t, "rewrite", "--json", src, out)
	if r.code != exitIO {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, exitIO, r.stdout, r.stderr)
	}
	first, _, _ := strings.Cut(r.stderr, "\n")
	if !strings.Contains(first, "pass replicas failed") || !strings.Contains(first, "tower_1/w") {
		t.Errorf("first stderr line %q does not name the pass and the variable", first)
	}
	if !strings.Contains(r.stdout, `"error": "`) || !strings.Contains(r.stdout, `"written": false`) {
		t.Errorf("JSON report does not carry the error:\n%s", r.stdout)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output written after a pass error: %v", err)
	}
	r = cli(t, "rewrite", "--dry-run", "--allow-divergence", "-v", src)
	if r.code == exitIO || !strings.Contains(r.stdout, "tower_1/w") {
		t.Errorf("--allow-divergence: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
