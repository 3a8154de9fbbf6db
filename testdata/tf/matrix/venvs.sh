#!/usr/bin/env bash
# Creates (or reuses) one Python 3.11 venv per TensorFlow version of the model
# matrix, each from its own pinned lock file, and prints "VERSION PYTHON" per
# line. TF 2.18 is the repository's own venv (testdata/tf/setup.sh,
# requirements.lock); 2.12, 2.15 and 2.21 come from locks/tf-X.Y.lock.
#
# Usage: bash testdata/tf/matrix/venvs.sh [2.12 2.15 2.18 2.21]
#
# The venvs live in the matrix cache, $UNMIRROR_MATRIX_CACHE (default
# <repo>/.cache/matrix, gitignored), as venv-X.Y; a venv is reused when its
# stamp holds the hash of its lock and the interpreter's version. A fresh
# install takes 1-3 minutes per version (most of it downloading).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cache="${UNMIRROR_MATRIX_CACHE:-$repo/.cache/matrix}"
base_python="${PYTHON311:-python3.11}"
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=(2.12 2.15 2.18 2.21)
mkdir -p "$cache"
for v in "${versions[@]}"; do
	if [[ "$v" == "2.18" ]]; then
		echo "2.18 $(bash "$repo/testdata/tf/setup.sh" | tail -n 1)"
		continue
	fi
	lock="$here/locks/tf-$v.lock"
	[[ -f "$lock" ]] || { echo "venvs.sh: no lock file $lock" >&2; exit 2; }
	venv="$cache/venv-$v"
	py="$venv/bin/python"
	stamp="$venv/.unmirror-lock.sha256"
	want="$( { cat "$lock"; "$base_python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
	if [[ ! -x "$py" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
		(
			exec 9>"$cache/.venv-$v.lock"
			flock 9
			if [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exit 0; fi
			echo "venvs.sh: installing TensorFlow $v into $venv" >&2
			start=$(date +%s)
			"$base_python" -m venv "$venv" >&2
			rm -f "$stamp"
			"$py" -m pip install --no-input --disable-pip-version-check -q --no-deps -r "$lock" >&2
			TF_CPP_MIN_LOG_LEVEL=3 "$py" -c "import tensorflow as tf; assert tf.__version__.startswith('$v.'), tf.__version__" >&2
			echo "$want" >"$stamp"
			echo "venvs.sh: TensorFlow $v installed in $(( $(date +%s) - start ))s" >&2
		)
	fi
	echo "$v $py"
done
