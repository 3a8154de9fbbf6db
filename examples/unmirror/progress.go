package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// progress shows "writing DST: N MiB" on a terminal while a rewrite writes.
//
// savedmodel.Write has no progress hook, so progress watches what Write
// is known to create: a temporary sibling directory of DST named
// ".<base>.unmirror-tmp-<pid>-<random>", whose size it sums twice a second.
// Nothing is shown in the first second, nor when no such directory appears
// (a dry run, or a model still being read and rewritten in memory).
type progress struct {
	done chan struct{}
	exit chan struct{}
}

const (
	progressDelay = time.Second
	progressTick  = 500 * time.Millisecond
)

func startProgress(w io.Writer, dst string) *progress {
	p := &progress{done: make(chan struct{}), exit: make(chan struct{})}
	parent, base := filepath.Dir(dst), filepath.Base(dst)
	prefix := fmt.Sprintf(".%s.unmirror-tmp-%d-", base, os.Getpid())
	go func() {
		defer close(p.exit)
		start := time.Now()
		t := time.NewTicker(progressTick)
		defer t.Stop()
		shown := false
		for {
			select {
			case <-p.done:
				if shown {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
			}
			if time.Since(start) < progressDelay {
				continue
			}
			n, ok := tempSize(parent, prefix)
			if !ok {
				continue
			}
			fmt.Fprintf(w, "\r\033[Kwriting %s: %d MiB", dst, n>>20)
			shown = true
		}
	}()
	return p
}

// stop ends the display and clears its line; a nil progress does nothing.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.done)
	<-p.exit
}

// tempSize sums the sizes of the files under the temporary directories in
// parent whose names start with prefix.
func tempSize(parent, prefix string) (int64, bool) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return 0, false
	}
	var total int64
	found := false
	for _, ent := range ents {
		if !ent.IsDir() || !strings.HasPrefix(ent.Name(), prefix) {
			continue
		}
		found = true
		filepath.WalkDir(filepath.Join(parent, ent.Name()), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					total += info.Size()
				}
			}
			return nil
		})
	}
	return total, found
}
