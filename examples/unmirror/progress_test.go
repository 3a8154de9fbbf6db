package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/unmirror/unmirror/progress"
)

// The status line of each phase: what is being done, for how long, and
// while writing the bytes written, of how many, the percentage and the
// throughput.
func TestStatusLine(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		e    progress.Event
		want string
	}{
		{progress.Event{Phase: progress.Read}, "reading in/m  1.5 s"},
		{progress.Event{Phase: progress.Pass, Pass: "devices", Index: 5, Passes: 7}, "pass 5 of 7: devices  1.5 s"},
		{progress.Event{Phase: progress.Write, Total: 1000 * mib}, "writing out/m  [........................]   0%  0 B of 1000.0 MiB  0 B/s"},
		{progress.Event{Phase: progress.Write, Done: 450 * mib, Total: 1000 * mib}, "writing out/m  [##########..............]  45%  450.0 MiB of 1000.0 MiB  225.0 MiB/s"},
		{progress.Event{Phase: progress.Write, Done: 1000 * mib, Total: 1000 * mib}, "writing out/m  [########################] 100%  1000.0 MiB of 1000.0 MiB  500.0 MiB/s"},
		{progress.Event{Phase: progress.Write}, "writing out/m  2.0 s"},
		{progress.Event{}, ""},
	}
	for _, tt := range tests {
		if got := statusLine(tt.e, "in/m", "out/m", 1500*time.Millisecond, 2*time.Second, 200); got != tt.want {
			t.Errorf("%+v:\n got %q\nwant %q", tt.e, got, tt.want)
		}
	}
}

// On a narrow terminal the line still fits on one row (a wrapped line
// cannot be redrawn in place): the path loses its beginning, then the line
// its end.
func TestStatusLineFits(t *testing.T) {
	const mib = 1 << 20
	long := "/home/someone/projects/models/exported/resnet-mirrored-2024-06-01/serving"
	write := progress.Event{Phase: progress.Write, Done: 450 * mib, Total: 1000 * mib}
	tests := []struct {
		e     progress.Event
		width int
		want  string
	}{
		{write, 80, "writing .../serving  [#####........]  45%  450.0 MiB of 1000.0 MiB  225.0 MiB/s"},
		{write, 100, "writing ...024-06-01/serving  [##########..............]  45%  450.0 MiB of 1000.0 MiB  225.0 MiB/s"},
		{write, 60, "writing .../serving  [###.....]  45%  450.0 MiB of 1000.0 M"},
		{progress.Event{Phase: progress.Read}, 40, "reading ...ed-2024-06-01/serving  1.5 s"},
		{progress.Event{Phase: progress.Read}, 200, "reading " + long + "  1.5 s"},
		{progress.Event{Phase: progress.Pass, Pass: "a-custom-pass-with-a-long-name", Index: 8, Passes: 8}, 30, "pass 8 of 8: a-custom-pass-wi"},
	}
	for _, tt := range tests {
		got := statusLine(tt.e, long, long, 1500*time.Millisecond, 2*time.Second, tt.width)
		if got != tt.want {
			t.Errorf("width %d:\n got %q\nwant %q", tt.width, got, tt.want)
		}
		if n := len([]rune(got)); n >= tt.width {
			t.Errorf("width %d: line of %d characters", tt.width, n)
		}
	}
}

// writingLine matches a drawn write status line.
var writingLine = regexp.MustCompile(`\r\x1b\[Kwriting \S+/out  \[[#.]{8,24}\] +\d+%  [0-9.]+ [KMG]?i?B of [0-9.]+ MiB  [0-9.]+ [KMG]?i?B/s`)

// TestProgressOnTerminal runs a long rewrite as a person does, on a
// terminal (script(1) gives it a pseudo-terminal): stderr shows the write's
// status line, cleared before the report; with --quiet, or with stdout not a
// terminal, no status line appears.
func TestProgressOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 512 MiB model")
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("needs script(1) (util-linux) for a pseudo-terminal")
	}
	src := bigModel(t, 512<<20)
	// onTerminal runs the command with stdin, stdout and stderr on one
	// pseudo-terminal and returns what it showed there.
	onTerminal := func(shell string) string {
		t.Helper()
		out, err := exec.Command(script, "-qec", shell, "/dev/null").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", shell, err, out)
		}
		return string(out)
	}
	dst := filepath.Join(t.TempDir(), "out")
	screen := onTerminal(binary + " rewrite " + src + " " + dst)
	if !writingLine.MatchString(screen) {
		t.Errorf("no write status line on the terminal:\n%q", screen)
	}
	report := strings.Index(screen, "rewrite "+src)
	if report < 0 || !strings.HasSuffix(screen[:report], "\r\x1b[K") {
		t.Errorf("the status line is not cleared before the report:\n%q", screen)
	}
	if !strings.Contains(screen, "wrote "+dst) {
		t.Errorf("no report:\n%q", screen)
	}

	quiet := onTerminal(binary + " rewrite --quiet --no-sync " + src + " " + filepath.Join(t.TempDir(), "out"))
	if quiet != "" {
		t.Errorf("--quiet showed something:\n%q", quiet)
	}
	redirected := onTerminal(binary + " rewrite --no-sync " + src + " " + filepath.Join(t.TempDir(), "out") + " >/dev/null")
	if strings.Contains(redirected, "writing") {
		t.Errorf("progress shown with stdout not a terminal:\n%q", redirected)
	}
}
