#!/usr/bin/env bash
# Builds the unmirror wheels into python/dist/: one per platform (Linux x86_64
# and aarch64, macOS x86_64 and arm64, Windows amd64), each holding the Go
# tool compiled with CGO_ENABLED=0 and the Python package (python/unmirror).
#
# Usage: python/build.sh [--host] [--out DIR]
#   --host     only the wheel for this machine's platform
#   --out DIR  write the wheels to DIR instead of python/dist/ (its old
#              unmirror-*.whl files are removed first)
#
# Reproducible: the wheels are built from a fresh clone of the commit (plus
# the working tree's uncommitted changes, which Go then stamps as "+dirty"),
# with SOURCE_DATE_EPOCH set to the commit's time, so the same commit and the
# same Go toolchain give byte-identical wheels wherever the checkout is.
# The version is the Go module version go build stamps from git
# (python/hatch_build.py says how it is written for Python).
#
# Needs Go, git and python3 >= 3.11 (PYTHON=... to choose); the first run installs
# the pinned build tools (requirements-build.lock) into python/.build-venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/dist"
targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)
while [ $# -gt 0 ]; do
	case "$1" in
	--host) targets=("$(go env GOOS)/$(go env GOARCH)") ;;
	--out) out="$2"; shift ;;
	*) echo "usage: python/build.sh [--host] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done

# The pinned build frontend and backend, reinstalled when the lock changes.
venv="$here/.build-venv"
lock_sum="$(sha256sum <"$here/requirements-build.lock")"
if [ "$(cat "$venv/lock.sha256" 2>/dev/null)" != "$lock_sum" ]; then
	rm -rf "$venv"
	"${PYTHON:-python3}" -m venv "$venv"
	"$venv/bin/python" -m pip install --quiet --require-hashes -r "$here/requirements-build.lock"
	echo "$lock_sum" >"$venv/lock.sha256"
fi

# The source: a clone of HEAD (so that .git is a directory and go build
# stamps the version; a git worktree has a .git file) with the working
# tree's changes and new files on top.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
commit="$(git -C "$repo" rev-parse HEAD)"
git clone --quiet --shared --no-checkout "$repo" "$tmp/src"
git -C "$tmp/src" checkout --quiet --detach "$commit"
git -C "$repo" diff --binary HEAD >"$tmp/changes.patch"
if [ -s "$tmp/changes.patch" ]; then
	git -C "$tmp/src" apply --binary "$tmp/changes.patch"
fi
(cd "$repo" && git ls-files -z --others --exclude-standard | tar --null -T - -cf -) | tar -C "$tmp/src" -xf -

export SOURCE_DATE_EPOCH="$(git -C "$repo" log -1 --format=%ct "$commit")"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$out"
rm -f "$out"/unmirror-*.whl
for t in "${targets[@]}"; do
	echo "== wheel for $t" >&2
	UNMIRROR_TARGET="$t" "$venv/bin/python" -m build --wheel --no-isolation \
		--outdir "$tmp/dist" "$tmp/src/python" >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log" >&2; exit 1; }
done
cp "$tmp"/dist/unmirror-*.whl "$out/"
(cd "$out" && sha256sum unmirror-*.whl)
