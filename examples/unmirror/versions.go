package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/unmirror/unmirror/savedmodel"
)

// allVersionsFlag is the flag of rewrite and verify that runs the command
// on every version folder of a TF Serving model base folder.
const allVersionsFlag = "all-versions"

// versionsDoc is the JSON document of a command run with --all-versions:
// the command's own document for each version, in version order.
type versionsDoc struct {
	Base     string       `json:"base"`
	Versions []versionRun `json:"versions"`
}

type versionRun struct {
	Version  string          `json:"version"`
	Dir      string          `json:"dir"`
	ExitCode int             `json:"exit_code"`
	Document json.RawMessage `json:"document"`
}

// forEachVersion runs a command (run, whose flags fs has parsed) once per
// version folder of the TF Serving base folder base, with the same flags,
// on base/V (and out/V when out is not ""). Each run is the command as
// usual: for rewrite, each version's output is written atomically, so a
// failure in one leaves the others' outputs valid. The text output has a
// header line per version and a summary; --json prints one versionsDoc.
// The exit code is the highest of the runs'.
func forEachVersion(e *env, cmd string, fs *flag.FlagSet, base, out string, run func(*env, []string) int) int {
	vs, err := savedmodel.Versions(base)
	if err == nil && len(vs) == 0 {
		err = fmt.Errorf("no version folders in %s (TF Serving's are named by a number: %s/1, ...)", base, base)
	}
	if err != nil {
		return fail(e, cmd, exitIO, "--"+allVersionsFlag, err)
	}
	var flags []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != allVersionsFlag {
			flags = append(flags, "-"+f.Name+"="+f.Value.String())
		}
	})
	doc := versionsDoc{Base: base, Versions: []versionRun{}}
	worst := exitOK
	var failed []string
	// Ctrl-C stops the version being run (its own handler) and the rest.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for i, v := range vs {
		if ctx.Err() != nil {
			for _, rest := range vs[i:] {
				failed = append(failed, rest.Name+" (not run: interrupted)")
			}
			worst = max(worst, exitIO)
			break
		}
		args := append(append([]string{}, flags...), "--", v.Dir)
		if out != "" {
			args = append(args, filepath.Join(out, v.Name))
		}
		sub := &env{stdout: e.stdout, stderr: e.stderr, tty: e.tty}
		var buf bytes.Buffer
		if e.json {
			sub.stdout = &buf
		} else {
			fmt.Fprintf(e.stdout, "== version %s: %s\n", v.Name, v.Dir)
		}
		code := run(sub, args)
		worst = max(worst, code)
		if code != exitOK {
			failed = append(failed, fmt.Sprintf("%s (exit %d)", v.Name, code))
		}
		if e.json {
			doc.Versions = append(doc.Versions, versionRun{Version: v.Name, Dir: v.Dir, ExitCode: code, Document: json.RawMessage(bytes.TrimSpace(buf.Bytes()))})
		}
	}
	if e.json {
		if err := e.writeJSON(doc); err != nil {
			return fail(e, cmd, exitIO, "cannot write output", err)
		}
		return worst
	}
	fmt.Fprintf(e.stdout, "== %s: %s\n", base, versionsSummary(len(vs), failed))
	return worst
}

// versionsSummary says how many versions succeeded and which failed.
func versionsSummary(n int, failed []string) string {
	s := fmt.Sprintf("%s, %d ok", count(n, "version", "versions"), n-len(failed))
	if len(failed) > 0 {
		s += fmt.Sprintf(", %d failed: %s", len(failed), strings.Join(failed, ", "))
	}
	return s
}

// servingBaseHint tells, after a failed read of a TF Serving base folder,
// how to run cmd on its versions.
func servingBaseHint(e *env, cmd string, err error) {
	var be *savedmodel.ServingBaseError
	if !errors.As(err, &be) {
		return
	}
	switch cmd {
	case "rewrite":
		fmt.Fprintf(e.stderr, "  to rewrite every version: unmirror rewrite --%s %s OUT (writes OUT/<version>)\n", allVersionsFlag, be.Base)
	case "verify":
		fmt.Fprintf(e.stderr, "  to verify every version: unmirror verify --%s %s\n", allVersionsFlag, be.Base)
	default:
		fmt.Fprintf(e.stderr, "  to %s one version: unmirror %s %s\n", cmd, cmd, be.Versions[len(be.Versions)-1].Dir)
	}
}
