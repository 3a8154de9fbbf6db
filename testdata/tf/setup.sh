#!/usr/bin/env bash
# Creates (or reuses) the one Python environment of this repository, at
# <repo>/.venv, with TensorFlow pinned for the fixture generator and the load
# checker. The Go library never needs it; tests and CI conformance checks do.
#
# Usage: bash testdata/tf/setup.sh      # prints the venv's python path on stdout
#
# The venv is reused when its stamp file holds the hash of requirements.lock
# and the base interpreter's version; otherwise pip brings it
# up to date (a fresh clone pays the full install once: about 3 minutes
# without a pip cache, under a minute with one).
# Concurrent callers serialise on a lock file. Logs go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.venv"
py="$venv/bin/python"
stamp="$venv/.unmirror-requirements.sha256"
base_python="${PYTHON:-python3}"

want="$( { cat "$here/requirements.lock"; "$base_python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	echo "$py"
	exit 0
fi

mkdir -p "$venv"
exec 9>"$venv/.setup.lock"
flock 9
# Another caller may have finished while we waited.
if [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
	echo "$py"
	exit 0
fi

if ! "$py" -c 'import sys' 2>/dev/null; then
	echo "setup.sh: creating venv at $venv" >&2
	"$base_python" -m venv "$venv" >&2
fi
rm -f "$stamp"
start=$(date +%s)
echo "setup.sh: pip install --no-deps -r requirements.lock (1-3 minutes on a fresh venv, most of it downloading)" >&2
# --no-deps: the lock is the complete set (see requirements.txt for why).
"$py" -m pip install --no-input --disable-pip-version-check -q --no-deps -r "$here/requirements.lock" >&2
TF_CPP_MIN_LOG_LEVEL=3 "$py" -c 'import tensorflow as tf, tf_keras; assert tf.__version__ == "2.18.0", tf.__version__' >&2
echo "setup.sh: installed in $(( $(date +%s) - start ))s" >&2
echo "$want" >"$stamp"
echo "$py"
