package savedmodel

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// removeStale removes temporary directories ".<base>.unmirror-tmp-<pid>-*"
// in parent that were left by a Write whose process no longer runs (killed
// before it could clean up). Directories of live processes are left alone;
// errors are ignored, since a stale directory never affects the output.
func removeStale(parent, base string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	prefix := "." + base + tmpMarker
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, prefix) {
			continue
		}
		pidStr, _, ok := strings.Cut(name[len(prefix):], "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if pid != os.Getpid() && !processAlive(pid) {
			os.RemoveAll(filepath.Join(parent, name))
		}
	}
}
