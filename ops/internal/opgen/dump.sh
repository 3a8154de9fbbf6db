#!/usr/bin/env bash
# Writes (or, with --check, compares with what is committed) the dumps that
# package ops is generated from:
#   ops/testdata/registry.txt  OpDefs registered by tensorflow-cpu==2.18.0 (the
#                              venv of testdata/tf/setup.sh)
#   ops/testdata/kernels.txt   KernelDefs registered by the GPU-enabled
#                              tensorflow==2.18.0 wheel (no GPU needed), in a venv
#                              of its own at $TFGPU_VENV (default <repo>/.venv-tfgpu)
#                              with the same pinned dependencies
# After writing them, run `go generate ./ops`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
check=0
[[ "${1:-}" == "--check" ]] && check=1

cpu_py="$(bash "$repo/testdata/tf/setup.sh" | tail -n 1)"

gpu_venv="${TFGPU_VENV:-$repo/.venv-tfgpu}"
gpu_py="$gpu_venv/bin/python"
lock="$repo/testdata/tf/requirements.lock"
want="$( { echo tensorflow==2.18.0; cat "$lock"; "${PYTHON:-python3}" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
stamp="$gpu_venv/.unmirror-tfgpu.sha256"
if [[ ! -x "$gpu_py" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
	echo "dump.sh: installing tensorflow==2.18.0 (GPU build) into $gpu_venv" >&2
	"${PYTHON:-python3}" -m venv "$gpu_venv" >&2
	"$gpu_py" -m pip install --no-input --disable-pip-version-check -q --no-deps tensorflow==2.18.0 >&2
	# The GPU build needs what tensorflow-cpu needs: the lock without the CPU
	# wheel and tf_keras.
	grep -v -e '^tensorflow_cpu==' -e '^tf_keras==' "$lock" >"$gpu_venv/requirements.txt"
	"$gpu_py" -m pip install --no-input --disable-pip-version-check -q --no-deps -r "$gpu_venv/requirements.txt" >&2
	echo "$want" >"$stamp"
fi

out="$repo/ops/testdata"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
TF_CPP_MIN_LOG_LEVEL=3 "$cpu_py" "$here/dump.py" registry >"$tmp/registry.txt"
TF_CPP_MIN_LOG_LEVEL=3 "$gpu_py" "$here/dump.py" kernels >"$tmp/kernels.txt"
for f in registry.txt kernels.txt; do
	if ((check)); then
		if ! diff -u "$out/$f" "$tmp/$f" >"$tmp/$f.diff"; then
			head -40 "$tmp/$f.diff" >&2
			echo "dump.sh: ops/testdata/$f differs from the wheel's registry" >&2
			exit 1
		fi
	else
		cp "$tmp/$f" "$out/$f"
	fi
done
((check)) && echo "dump.sh: ops/testdata/registry.txt and kernels.txt match the wheels" >&2
exit 0
