#!/usr/bin/env bash
# Prepares the cgo environment for github.com/wamuir/graft/tensorflow (the Go
# bindings to the TensorFlow C API) from the repository's pinned
# tensorflow-cpu wheel, so that `go build -tags tensorflow ./examples/serve/`
# links and runs without a separately installed libtensorflow.
#
# Why this works: TF builds its C API into libtensorflow_cc.so.2, which the
# wheel ships next to libtensorflow_framework.so.2; the wheel also ships the
# C API headers under include/. The bindings link with -ltensorflow, so we
# make a folder holding libtensorflow.so -> libtensorflow_cc.so.2 (the linker
# records the soname libtensorflow_cc.so.2, so the folder is needed at link
# time only) and add the wheel's folder to the run path.
#
# Usage:
#   eval "$(bash examples/serve/cgo-env.sh)"      # export into this shell
#   bash examples/serve/cgo-env.sh -- CMD ARGS...  # run one command with it
#
# The venv comes from testdata/tf/setup.sh (created on first use, a few
# minutes on a fresh clone). The link folder is <repo>/.venv/libtensorflow/
# (git-ignored with the venv). Logs go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

py="$(bash "$repo/testdata/tf/setup.sh")"
# The wheel's folder, asked of the venv's own site-packages (no TF import:
# importing TF takes seconds and is not needed to find files).
tfdir="$("$py" -c 'import importlib.util, os; s = importlib.util.find_spec("tensorflow"); print(os.path.dirname(s.origin))')"

for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2 include/tensorflow/c/c_api.h; do
	if [[ ! -e "$tfdir/$f" ]]; then
		echo "cgo-env.sh: $tfdir/$f is missing: is the venv's tensorflow wheel complete?" >&2
		exit 1
	fi
done

libdir="$(dirname "$py")/../libtensorflow"
mkdir -p "$libdir"
libdir="$(cd "$libdir" && pwd)"
ln -sfn "$tfdir/libtensorflow_cc.so.2" "$libdir/libtensorflow.so"
ln -sfn "$tfdir/libtensorflow_framework.so.2" "$libdir/libtensorflow_framework.so.2"
ln -sfn "$tfdir/libtensorflow_cc.so.2" "$libdir/libtensorflow_cc.so.2"

cflags="-I$tfdir/include"
ldflags="-L$libdir -Wl,-rpath,$tfdir -Wl,-rpath-link,$tfdir"
ldpath="$tfdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [[ "${1:-}" == "--" ]]; then
	shift
	export CGO_ENABLED=1 CGO_CFLAGS="$cflags" CGO_LDFLAGS="$ldflags" LD_LIBRARY_PATH="$ldpath"
	exec "$@"
fi
if [[ $# -gt 0 ]]; then
	echo "usage: $0 [-- command args...]" >&2
	exit 2
fi
printf 'export CGO_ENABLED=1\n'
printf 'export CGO_CFLAGS=%q\n' "$cflags"
printf 'export CGO_LDFLAGS=%q\n' "$ldflags"
printf 'export LD_LIBRARY_PATH=%q\n' "$ldpath"
