package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

const rewriteHelp = `
Usage: unmirror rewrite [flags] SRC DST
       unmirror rewrite --dry-run [flags] SRC [DST]
       unmirror rewrite --all-versions [flags] BASE OUT

Rewrite reads the SavedModel in SRC, runs the rewrite passes on it (all of
them by default; see "unmirror passes") and writes a strategy-free copy to
DST for one CPU (or one GPU with --target gpu). DST is written atomically:
after any failure, or Ctrl-C, it is left as it was. SRC is never modified.
DST must not be, contain or lie inside SRC; an existing DST is replaced only
with --force, and only if it is empty or a SavedModel (both checked before
SRC is read). Missing parent directories of DST are created.

It prints what each pass changed (one line per pass; every change with -v;
the whole report with --json). The verify pass always runs last, also after
--passes; if the result still has findings (see "unmirror verify"), nothing
is written and the exit code is 1. --no-verify skips it, with a warning.

With --all-versions, SRC is a TF Serving model base folder (version folders
named by a number: BASE/1, BASE/2, ...) and each version BASE/V is rewritten
to OUT/V, atomically; a version that fails is named and the others' outputs
stay valid. The exit code is the highest of the versions'.

On a terminal, a status line on stderr shows the phase (reading, each pass,
writing with the bytes written of the total, percent and throughput); none
with --quiet or when stdout or stderr is redirected.

Examples:
  unmirror rewrite ./model ./model-cpu
  unmirror rewrite --target gpu --drop-optimizer ./model ./model-gpu
  unmirror rewrite --dry-run -v ./model
  unmirror rewrite --passes devices,verify --force ./model ./model-cpu
  unmirror rewrite --passes none --text ./model ./model-pbtxt
  unmirror rewrite --passes devices --no-verify ./model ./model-unchecked
  unmirror rewrite --all-versions ./models/foo ./models/foo-cpu
`

// rewriteDoc is the JSON document of "unmirror rewrite --json".
type rewriteDoc struct {
	Src     string          `json:"src"`
	Dst     string          `json:"dst"`
	Passes  []string        `json:"passes"`
	Written bool            `json:"written"`
	Error   string          `json:"error,omitempty"`
	Report  *rewrite.Report `json:"report"`
}

type rewriteFlags struct {
	target          device.Target
	passes          string
	noVerify        bool
	dropOptimizer   bool
	allowDivergence bool
	dryRun          bool
	force           bool
	hardlink        bool
	dropOtherFiles  bool
	allVersions     bool
	noSync          bool
	text            bool
	json            bool
	verbose         bool
	quiet           bool
}

// rewriteFlagSet returns the flags of rewrite (but the read flags) and
// where they are parsed to.
func rewriteFlagSet(e *env) (*flag.FlagSet, *rewriteFlags) {
	var f rewriteFlags
	fs := newFlags(e, "rewrite", rewriteHelp)
	fs.Var(&f.target, "target", "device the output must load on: cpu|gpu (default cpu)")
	fs.StringVar(&f.passes, "passes", "", "comma-separated passes to run (default all; \"none\": none; verify runs last)")
	fs.BoolVar(&f.noVerify, "no-verify", false, "skip the verify pass: write the result unchecked (prints a warning)")
	fs.BoolVar(&f.dropOptimizer, "drop-optimizer", false, "remove optimizer slots and state")
	fs.BoolVar(&f.allowDivergence, "allow-divergence", false, "collapse replicas whose values differ from the primary's (the primary wins)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "run the passes and report, write nothing")
	fs.BoolVar(&f.force, "force", false, "replace an existing DST")
	fs.BoolVar(&f.hardlink, "hardlink", false, "hard-link unchanged variables and assets instead of copying them")
	fs.BoolVar(&f.allVersions, allVersionsFlag, false, "SRC is a TF Serving base folder: rewrite each version V to DST/V")
	fs.BoolVar(&f.dropOtherFiles, "drop-other-files", false, "leave out files not part of the SavedModel (README.txt, ...)")
	fs.BoolVar(&f.noSync, "no-sync", false, "do not fsync DST (still atomic; a power loss may truncate it)")
	fs.BoolVar(&f.text, "text", false, "write saved_model.pbtxt instead of the input's format")
	fs.BoolVar(&f.json, "json", false, "print the report as one JSON document (schema in README.md)")
	fs.BoolVar(&f.verbose, "v", false, "print every change and finding")
	fs.BoolVar(&f.quiet, "quiet", false, "print nothing but errors; no progress")
	return fs, &f
}

// writeOptions are the savedmodel.WriteOptions the flags select.
func (f *rewriteFlags) writeOptions() savedmodel.WriteOptions {
	o := savedmodel.WriteOptions{Overwrite: f.force, HardLink: f.hardlink, NoSync: f.noSync, DropOtherFiles: f.dropOtherFiles}
	if f.text {
		o.Format = savedmodel.FormatText
	}
	return o
}

func runRewrite(e *env, args []string) int {
	fs, f := rewriteFlagSet(e)
	ro := addReadFlags(fs)
	min := 2
	if hasFlag(args, "dry-run") {
		min = 1
	}
	pos, code, ok := parse(e, fs, args, min, 2)
	if !ok {
		return code
	}
	e.json = f.json
	src, dst := pos[0], ""
	if len(pos) == 2 {
		dst = pos[1]
	}
	if f.allVersions {
		return forEachVersion(e, "rewrite", fs, src, dst, runRewrite)
	}
	p := rewrite.Default()
	if f.passes != "" {
		sel, err := p.Select(strings.Split(f.passes, ","))
		if err != nil {
			fmt.Fprintf(e.stderr, "unmirror rewrite: --passes: %v\n", err)
			fmt.Fprintf(e.stderr, "Passes: %s (or none)\n", strings.Join(p.Names(), ","))
			return exitUsage
		}
		p = sel
	}
	if f.noVerify {
		p = p.Without(rewrite.Verify.Name)
		fmt.Fprintf(e.stderr, "unmirror rewrite: warning: --no-verify: the result is not checked before it is written; run \"unmirror verify\" on it\n")
	} else {
		p = p.Verified()
	}
	// The output is checked before the long work of reading and rewriting;
	// Write checks again.
	if dst != "" && !f.dryRun {
		if err := savedmodel.CheckOutput(src, dst, f.writeOptions()); err != nil {
			// Invite --force only where it would work (never for a file or
			// a directory of other data, which --force refuses too).
			forced := f.writeOptions()
			forced.Overwrite = true
			if errors.Is(err, savedmodel.ErrOutputExists) && !f.force && savedmodel.CheckOutput(src, dst, forced) == nil {
				err = fmt.Errorf("%w (use --force to replace it)", err)
			}
			return fail(e, "rewrite", exitIO, "cannot write "+dst, err)
		}
	}
	opts := unmirror.Options{Target: f.target, DryRun: f.dryRun,
		AllowDivergence: f.allowDivergence, DropOptimizer: f.dropOptimizer,
		Pipeline: p, SkipVerify: f.noVerify,
		Write: f.writeOptions(),
		Read:  *ro,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var d *display
	if tty, ok := e.stderr.(*os.File); ok && e.tty && !f.quiet {
		d = startDisplay(tty, src, dst)
		opts.Progress = d.event
	}
	rep, err := unmirror.Rewrite(ctx, src, dst, opts)
	d.stop()

	written := err == nil && !f.dryRun
	if rep != nil {
		if werr := printReport(e, *f, src, dst, p, rep, written, err); werr != nil {
			return fail(e, "rewrite", exitIO, "cannot write output", werr)
		}
	}
	return rewriteExit(ctx, e, *f, src, dst, rep, err)
}

// hasFlag reports whether args hold the boolean flag name (-name, --name,
// with or without =true).
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || a == name+"=true" {
			return true
		}
	}
	return false
}

func printReport(e *env, f rewriteFlags, src, dst string, p *rewrite.Pipeline, rep *rewrite.Report, written bool, err error) error {
	if f.json {
		doc := rewriteDoc{Src: src, Dst: dst, Passes: p.Names(), Written: written, Report: rep}
		if doc.Passes == nil {
			doc.Passes = []string{}
		}
		if err != nil {
			doc.Error = err.Error()
		}
		return e.writeJSON(doc)
	}
	if f.quiet {
		return nil
	}
	w := e.stdout
	fmt.Fprintf(w, "rewrite %s for one %s: %s\n", src, strings.ToLower(f.target.String()), count(len(p.Passes), "pass", "passes"))
	var werr error
	if f.verbose {
		werr = rep.WriteText(w)
	} else {
		werr = rep.WriteSummary(w)
	}
	if werr != nil {
		return werr
	}
	switch {
	case written:
		fmt.Fprintf(w, "wrote %s\n", dst)
	case f.dryRun && err == nil:
		fmt.Fprintln(w, "dry run: nothing written")
	}
	return nil
}

func rewriteExit(ctx context.Context, e *env, f rewriteFlags, src, dst string, rep *rewrite.Report, err error) int {
	if err == nil {
		return exitOK
	}
	var fe *unmirror.FindingsError
	var pe *rewrite.PassError
	switch {
	case rep == nil && ctx.Err() == nil:
		return failRead(e, "rewrite", "cannot read "+src, err)
	case errors.As(err, &fe):
		fmt.Fprintf(e.stderr, "unmirror rewrite: %s is not strategy-free for one %s after the rewrite: %s; nothing written\n",
			src, strings.ToLower(f.target.String()), count(len(fe.Findings), "finding", "findings"))
		for i, x := range fe.Findings {
			if i == 20 && !f.verbose {
				fmt.Fprintf(e.stderr, "  ... and %d more (-v lists all)\n", len(fe.Findings)-i)
				break
			}
			fmt.Fprintf(e.stderr, "  %s: %s\n", x.Where, x.What)
		}
		return exitFindings
	case ctx.Err() != nil:
		fmt.Fprintf(e.stderr, "unmirror rewrite: interrupted; nothing written to %s\n", dst)
		return exitIO
	case errors.As(err, &pe):
		fmt.Fprintf(e.stderr, "unmirror rewrite: pass %s failed on %s: %v\n", pe.Pass, src, pe.Err)
		if w := pe.Where.String(); w != "model" {
			fmt.Fprintf(e.stderr, "  at %s\n", w)
		}
		return exitIO
	case errors.Is(err, savedmodel.ErrCorruptInput):
		return fail(e, "rewrite", exitIO, "nothing written to "+dst, err)
	case errors.Is(err, rewrite.ErrInvalidPipeline):
		return fail(e, "rewrite", exitUsage, "invalid --passes", err)
	}
	return fail(e, "rewrite", exitIO, "cannot write "+dst, err)
}
