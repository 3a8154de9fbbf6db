package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/unmirror/unmirror/savedmodel"
)

// newFlags returns a flag set for a command whose help text is help (usage
// lines, description, examples); the flags' defaults are printed after it.
func newFlags(e *env, name, help string) *flag.FlagSet {
	fs := flag.NewFlagSet("unmirror "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, strings.TrimLeft(help, "\n"))
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after the positional arguments
// ("unmirror inspect DIR --json"), and checks the number of positional
// arguments is within [min, max]. It returns the positional arguments, or
// an exit code (exitOK after -h, exitUsage on errors) and false.
func parse(e *env, fs *flag.FlagSet, args []string, min, max int) ([]string, int, bool) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return nil, exitOK, false
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: %v\n", fs.Name(), err)
			fmt.Fprintf(e.stderr, "Run '%s -h' for usage.\n", fs.Name())
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < min || len(pos) > max {
		want := fmt.Sprintf("%d", min)
		if max > min {
			want = fmt.Sprintf("%d or %d", min, max)
		}
		fmt.Fprintf(e.stderr, "%s: want %s arguments, got %d\n", fs.Name(), want, len(pos))
		fmt.Fprintf(e.stderr, "Run '%s -h' for usage.\n", fs.Name())
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

// fail prints err as "unmirror CMD: what: err" on one line, then details
// (wrapped errors that add information), and returns code.
func fail(e *env, cmd string, code int, what string, err error) int {
	fmt.Fprintf(e.stderr, "unmirror %s: %s: %v\n", cmd, what, err)
	var fe *savedmodel.FormatError
	if errors.As(err, &fe) && fe.Offset >= 0 {
		fmt.Fprintf(e.stderr, "  file %s, offset %d\n", fe.File, fe.Offset)
	}
	return code
}

// readModel reads a SavedModel, reporting failure as exit code 3.
func readModel(e *env, cmd, dir string, opts savedmodel.ReadOptions) (*savedmodel.Model, int) {
	m, err := savedmodel.ReadWith(dir, opts)
	if err != nil {
		return nil, fail(e, cmd, exitIO, "cannot read "+dir, err)
	}
	return m, exitOK
}

// writeJSON prints v as indented JSON, one document ending in a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// humanBytes formats n as "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}
