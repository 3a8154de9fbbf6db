package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/unmirror/unmirror/progress"
)

// display draws a rewrite's progress events (unmirror.Options.Progress) as
// one status line on a terminal: the phase (reading SRC, pass i of n, writing
// DST), how long it has taken, and while writing a bar with the bytes
// written of the total, the percentage and the throughput. The line is
// redrawn a few times a second from the last event and cleared when the
// rewrite ends, so that the report after it starts on a clean line. The
// first line is drawn after progressTick: a rewrite faster than that shows
// none.
//
// The events come from the library (progress.Func, called on the working
// goroutine); display only stores them, and a goroutine of its own draws.
//
// It is our own code rather than a progress-bar library: the one line with
// phases takes less code than adapting a single-bar library to it, and a
// dependency of this command would be one of the library's module, which
// its users get too (github.com/schollz/progressbar/v3 requires five
// modules).
type display struct {
	w        io.Writer
	width    func() int // the terminal's width in columns
	src, dst string

	mu         sync.Mutex
	ev         progress.Event
	phaseStart time.Time // when the current phase or pass began
	writeStart time.Time // when the first write event came

	done, exit chan struct{}
}

const (
	progressTick = 200 * time.Millisecond
	barWidth     = 24 // the write's bar, on a wide enough terminal
	minBar       = 8  // the bar on a narrow one
	minPath      = 11 // "..." and the last 8 characters of a path
)

// startDisplay starts drawing on the terminal f; stop ends it.
func startDisplay(f *os.File, src, dst string) *display {
	now := time.Now()
	d := &display{w: f, width: func() int { return terminalWidth(f) }, src: src, dst: dst, phaseStart: now,
		done: make(chan struct{}), exit: make(chan struct{})}
	go d.loop()
	return d
}

// event is the progress.Func of the rewrite.
func (d *display) event(e progress.Event) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if e.Phase != d.ev.Phase || e.Pass != d.ev.Pass {
		d.phaseStart = now
	}
	if e.Phase == progress.Write && d.writeStart.IsZero() {
		d.writeStart = now
	}
	d.ev = e
}

func (d *display) loop() {
	defer close(d.exit)
	t := time.NewTicker(progressTick)
	defer t.Stop()
	shown := false
	for {
		select {
		case <-d.done:
			if shown {
				fmt.Fprint(d.w, "\r\033[K")
			}
			return
		case now := <-t.C:
			d.mu.Lock()
			line := statusLine(d.ev, d.src, d.dst, now.Sub(d.phaseStart), now.Sub(d.writeStart), d.width())
			d.mu.Unlock()
			if line != "" {
				fmt.Fprint(d.w, "\r\033[K"+line)
				shown = true
			}
		}
	}
}

// stop ends the display and clears its line; a nil display does nothing.
func (d *display) stop() {
	if d == nil {
		return
	}
	close(d.done)
	<-d.exit
}

// statusLine is the line drawn for the last event e, the phase having
// lasted phase and the write writing, shortened to fit in width columns
// (a line that wrapped could not be redrawn in place): the path loses its
// beginning first.
func statusLine(e progress.Event, src, dst string, phase, writing time.Duration, width int) string {
	var rest string
	switch e.Phase {
	case progress.Read:
		rest = "  " + seconds(phase)
		return cut("reading "+fit(src, width-1-len("reading ")-len(rest))+rest, width-1)
	case progress.Pass:
		return cut(fmt.Sprintf("pass %d of %d: %s  %s", e.Index, e.Passes, e.Pass, seconds(phase)), width-1)
	case progress.Write:
		if e.Total <= 0 {
			rest = "  " + seconds(writing)
		} else {
			// The bar gives up columns first, down to minBar.
			rest = writeProgress(e, writing, barWidth)
			if over := len("writing ") + minPath + len(rest) - (width - 1); over > 0 {
				rest = writeProgress(e, writing, max(barWidth-over, minBar))
			}
		}
		return cut("writing "+fit(dst, width-1-len("writing ")-len(rest))+rest, width-1)
	}
	return ""
}

// writeProgress is the end of a write's status line: a bar of width
// characters, the percentage, the bytes written of the total and the
// throughput.
func writeProgress(e progress.Event, writing time.Duration, width int) string {
	done := min(e.Done, e.Total)
	filled := int(done * int64(width) / e.Total)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	rate := "-"
	if s := writing.Seconds(); s > 0 {
		rate = humanBytes(int64(float64(done)/s)) + "/s"
	}
	return fmt.Sprintf("  [%s] %3d%%  %s of %s  %s", bar, done*100/e.Total,
		humanBytes(done), humanBytes(e.Total), rate)
}

// fit shortens path to at most n characters by replacing its beginning
// with "...", keeping at least minPath characters (the line is cut after
// that).
func fit(path string, n int) string {
	r := []rune(path)
	n = max(n, minPath)
	if len(r) <= n {
		return path
	}
	return "..." + string(r[len(r)-(n-3):])
}

// cut cuts line to at most n characters.
func cut(line string, n int) string {
	if r := []rune(line); len(r) > n {
		return string(r[:max(n, 0)])
	}
	return line
}

// seconds formats d as "0.4 s", "12.3 s".
func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
