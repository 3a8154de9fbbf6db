package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/unmirror/unmirror"
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
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
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
		want := count(min, "argument", "arguments")
		if max > min {
			want = fmt.Sprintf("%d or %s", min, count(max, "argument", "arguments"))
		}
		fmt.Fprintf(e.stderr, "%s: want %s, got %d\n", fs.Name(), want, len(pos))
		fmt.Fprintf(e.stderr, "Run '%s -h' for usage.\n", fs.Name())
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

// fail prints err as "unmirror CMD: what: err" on one line and returns
// code. With --json, unless the command's own document is already out, it
// also prints an error document on stdout.
func fail(e *env, cmd string, code int, what string, err error) int {
	msg := what + ": " + err.Error()
	fmt.Fprintf(e.stderr, "unmirror %s: %s\n", cmd, msg)
	if e.json && !e.printed {
		doc := errorDoc{Command: cmd, Error: msg, ExitCode: code}
		var fe *savedmodel.FormatError
		if errors.As(err, &fe) {
			doc.File = fe.File
			if fe.Offset >= 0 {
				doc.Offset = &fe.Offset
			}
		}
		e.writeJSON(doc)
	}
	return code
}

// errorDoc is the JSON document of a --json command that failed before it
// had its own document to print (an unreadable input, an output it may
// not write).
type errorDoc struct {
	Command  string `json:"command"`
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
	File     string `json:"file,omitempty"`
	Offset   *int64 `json:"offset,omitempty"`
}

// failRead reports an error of an unmirror entry point as exit code 3: a
// model that cannot be read (*unmirror.ReadError) as "cannot read DIR",
// any other error as what.
func failRead(e *env, cmd, what string, err error) int {
	defer servingBaseHint(e, cmd, err)
	var re *unmirror.ReadError
	if errors.As(err, &re) {
		return fail(e, cmd, exitIO, "cannot read "+re.Path, re.Err)
	}
	return fail(e, cmd, exitIO, what, err)
}

// writeJSON prints v on stdout as indented JSON, one document ending in a
// newline.
func (e *env) writeJSON(v any) error {
	e.printed = true
	enc := json.NewEncoder(e.stdout)
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

// count returns "1 one" or "n many": "1 shard", "2 shards", "0 entries".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
