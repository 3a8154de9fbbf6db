//go:build !tensorflow

package main

import (
	"errors"
	"fmt"
	"os"
)

// errNoTensorFlow is reported when the program was built without the
// tensorflow build tag.
var errNoTensorFlow = errors.New("serve: built without the tensorflow build tag; " +
	"build with: eval \"$(bash examples/serve/cgo-env.sh)\" && go build -tags tensorflow ./examples/serve/")

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(exitUsage)
	}
	if o.table != "" {
		if err := printTable(os.Stdout, o.table); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(exitError)
		}
		return
	}
	os.Exit(failure(stageLoad, errNoTensorFlow).write(os.Stdout))
}
