package savedmodel

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// oldMarker names the directory an overwriting Write moves the previous
// output to before renaming the new one in (see replaceDir).
const oldMarker = ".unmirror-old-"

// removeStale removes the directories ".<base>.unmirror-tmp-<pid>-*" and
// ".<base>.unmirror-old-<pid>-*" in parent that were left by a Write whose
// process no longer runs (killed before it could clean up: a new output
// being built, or a replaced one not yet deleted). Directories of live
// processes are left alone; errors are ignored, since a stale directory
// never affects the output.
func removeStale(parent, base string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, "."+base+tmpMarker)
		if !ok {
			rest, ok = strings.CutPrefix(name, "."+base+oldMarker)
		}
		if !e.IsDir() || !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if pid != os.Getpid() && !processAlive(pid) {
			os.RemoveAll(filepath.Join(parent, name))
		}
	}
}
