#!/usr/bin/env bash
# Tests the unmirror wheels: builds them (build.sh), installs the host's
# into a fresh venv with no package index (offline), installs the pinned test
# tools there (requirements-test.lock) and runs python/tests, which rewrite
# fixtures through the Python API and load the results with TensorFlow (the
# venv of testdata/tf/setup.sh, or UNMIRROR_TF_PYTHON), check every wheel's
# metadata with the packaging library, and build the wheels again to compare
# their bytes. Extra arguments go to pytest. Exits non-zero on any failure,
# also when no test ran.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
tf_python="${UNMIRROR_TF_PYTHON:-$(bash "$repo/testdata/tf/setup.sh" | tail -n 1)}"

"$here/build.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$tf_python" -m venv "$work/venv"
PIP_FIND_LINKS= "$work/venv/bin/python" -m pip install --quiet --no-index --find-links "$here/dist" unmirror
"$work/venv/bin/python" -m pip install --quiet --require-hashes -r "$here/requirements-test.lock"

cd "$repo"
UNMIRROR_TF_PYTHON="$tf_python" PATH="$work/venv/bin:$PATH" \
	"$work/venv/bin/python" -m pytest -p no:cacheprovider -rs python/tests "$@"
