#!/usr/bin/env bash
# Side-by-side benchmark of `unmirror rewrite` against the alternatives, on big
# generated models and on the fixtures. See BENCHMARKS.md for the figures.
#
# Usage: bash testdata/bench/run.sh
#
# Environment:
#   SIZE_MIB=2048    size of the variables of each big model (MiB)
#   REPEAT=3         runs of every file-copying command per model (median kept)
#   PY_REPEAT=1      runs of the Python route per model (it is slow)
#   FIXTURES=1       also compare on every fixture in testdata/models (0: skip)
#   BIG=1            generate and compare the big models (0: skip)
#   KINDS="mirrored sharded maxshard"  which big models
#   BENCH_TMP=dir    where the temporary directory goes (default: $TMPDIR or /tmp)
#   UNMIRROR_TREE=worktree  build the CLI from the working tree, not HEAD
#
# It builds the CLI, generates three big models with TensorFlow (the repo's venv,
# testdata/tf/setup.sh) into a temporary directory:
#   mirrored  MirroredStrategy + EXPAND_DISTRIBUTED_VARIABLES: the checkpoint
#             plan is unchanged, unmirror copies (or hard-links) the variables;
#   sharded   ShardedVariables: unmirror assembles them, rebuilding the bundle;
#   maxshard  tables cut by MaxShardSizePolicy into slices across 60+ data
#             shards (issue 14): unmirror assembles them, rebuilding the bundle;
# then, for each, runs in turn (REPEAT rounds, interleaved so that load changes
# hit every command alike):
#   cp -r SRC DST, cp -r + fsync of the copied files (coreutils sync FILE...;
#   unmirror fsyncs what it writes), unmirror rewrite, unmirror rewrite
#   --no-sync (no fsync, like cp -r and like TensorFlow's own save),
#   unmirror rewrite --hardlink,
# and the Python route (testdata/bench/pyroute.py: load, re-save) PY_REPEAT
# times. Wall time comes from the clock (ns), peak RSS from /usr/bin/time. Then TensorFlow loads
# unmirror's output of each big model and checks what it serves against the
# tables recomputed from their seeds (genbig.py check); a failed check makes
# the script exit 1 after printing the tables. It prints one row per
# model and command, then per model the ratios the issue asks for, each
# between commands of the same durability where it matters: unmirror ÷ cp+fsync,
# unmirror --no-sync ÷ cp, and python ÷ unmirror, ÷ unmirror --no-sync (same
# durability as TensorFlow) and ÷ unmirror --hardlink. Source files are in
# the page cache for every command alike (the generator just wrote them).
# Everything it creates is removed on exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
SIZE_MIB="${SIZE_MIB:-2048}"
REPEAT="${REPEAT:-3}"
PY_REPEAT="${PY_REPEAT:-1}"
FIXTURES="${FIXTURES:-1}"
BIG="${BIG:-1}"
base="${BENCH_TMP:-${TMPDIR:-/tmp}}"

tmp="$(mktemp -d "$base/unmirror-bench.XXXXXX")"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

timer=/usr/bin/time
[[ -x "$timer" ]] || { echo "run.sh: needs GNU time at /usr/bin/time" >&2; exit 1; }

py="$(bash "$repo/testdata/tf/setup.sh")"
bin="$tmp/unmirror"
# The binary is built from a clean export of HEAD (the figures are then those
# of a commit, whatever is being edited in the tree); UNMIRROR_TREE=worktree
# builds the working tree instead.
if [[ "${UNMIRROR_TREE:-head}" == worktree ]]; then
	build="$repo"
	rev="$(git -C "$repo" rev-parse --short HEAD) + working tree"
else
	build="$tmp/src"
	mkdir "$build"
	git -C "$repo" archive HEAD | tar -x -C "$build"
	rev="$(git -C "$repo" rev-parse --short HEAD)"
fi
(cd "$build" && go build -o "$bin" ./examples/unmirror)

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== machine"
echo "date:       $(date -u +%FT%TZ)"
echo "cpu:        $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc)"
echo "memory:     $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
echo "disk:       $(df -h "$tmp" | awk 'NR==2 {print $1 " " $4 " free of " $2}')"
echo "load avg:   $(load)"
echo "go:         $(cd "$repo" && go version)"
echo "tensorflow: $("$py" -c 'import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="3"; import tensorflow as tf; print(tf.__version__)' 2>/dev/null)"
echo "unmirror:   $rev"
echo

results="$tmp/results.tsv" # model  command  run  seconds  maxrss_kib  status
: >"$results"

# timed MODEL COMMAND -- ARGV...: runs ARGV under /usr/bin/time after a sync
# (so that earlier writes are not charged to it) and records one row.
timed() {
	local model=$1 cmd=$2 run=$3
	shift 4
	sync
	local st=ok
	# Wall time from the clock in ns (GNU time's %e has 10 ms steps, more
	# than unmirror takes on a fixture); peak RSS from GNU time.
	local t0 t1
	t0=$(date +%s%N)
	if ! "$timer" -f '%e %M' -o "$tmp/time.out" "$@" >"$tmp/cmd.out" 2>&1; then
		st=fail
	fi
	t1=$(date +%s%N)
	if [[ "$cmd" == python && "$st" == ok ]] && ! grep -q '"ok": true' "$tmp/cmd.out"; then
		st="fail: $(grep -o '"error": ".*"' "$tmp/cmd.out" | cut -c11- | tr -d '"' | cut -c1-240)"
	elif [[ "$st" != ok ]]; then
		st="fail: $(grep -v '^\s*$' "$tmp/cmd.out" | tail -1 | cut -c1-240)"
	fi
	read -r _ rss < <(tail -1 "$tmp/time.out")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$model" "$cmd" "$run" "$secs" "$rss" "$st" >>"$results"
}

cp_sync() { cp -r "$1" "$2" && find "$2" -type f -exec sync {} + && sync "$2"; }
export -f cp_sync

# compare MODEL SRC PYMODE: the side-by-side rounds on one model.
compare() {
	local model=$1 src=$2 mode=$3 out="$tmp/out" r
	for ((r = 1; r <= REPEAT; r++)); do
		rm -rf "$out"; timed "$model" cp "$r" -- cp -r "$src" "$out"
		rm -rf "$out"; timed "$model" cp+fsync "$r" -- bash -c 'cp_sync "$0" "$1"' "$src" "$out"
		rm -rf "$out"; timed "$model" unmirror "$r" -- "$bin" rewrite --quiet "$src" "$out"
		rm -rf "$out"; timed "$model" unmirror-nosync "$r" -- "$bin" rewrite --quiet --no-sync "$src" "$out"
		rm -rf "$out"; timed "$model" unmirror-hardlink "$r" -- "$bin" rewrite --quiet --hardlink "$src" "$out"
		rm -rf "$out"
	done
	for ((r = 1; r <= PY_REPEAT; r++)); do
		rm -rf "$out"; timed "$model" python "$r" -- "$py" "$here/pyroute.py" "$mode" "$src" "$out"
		rm -rf "$out"
	done
}

checks_failed=0
if [[ "$BIG" == 1 ]]; then
	for kind in ${KINDS:-mirrored sharded maxshard}; do
		echo "== generating $kind ($SIZE_MIB MiB of variables; load $(load))"
		"$timer" -f "   generated in %e s" "$py" "$here/genbig.py" "$kind" "$tmp/big_$kind" "$SIZE_MIB"
		mode=plain
		[[ "$kind" == mirrored ]] && mode=mirrored
		echo "   $(du -sh "$tmp/big_$kind" | cut -f1) on disk; comparing (load $(load))"
		compare "big_$kind" "$tmp/big_$kind" "$mode"
		# The figures count only if the output is right: TensorFlow loads
		# what unmirror wrote (default, --no-sync and --hardlink alike write
		# the same bytes) and serves the rows of the tables.
		rm -rf "$tmp/out"
		res=""
		if "$bin" rewrite --quiet "$tmp/big_$kind" "$tmp/out" 2>"$tmp/check.err"; then
			res="$("$py" "$here/genbig.py" check "$tmp/out" "$SIZE_MIB" 2>"$tmp/check.err")" || checks_failed=1
		else
			checks_failed=1
		fi
		echo "   load check of the rewritten model: ${res:-$(tail -1 "$tmp/check.err")}"
		rm -rf "$tmp/out" "$tmp/big_$kind"
	done
fi

if [[ "$FIXTURES" == 1 ]]; then
	echo "== fixtures (load $(load))"
	while IFS=$'\t' read -r name mode; do
		compare "$name" "$repo/testdata/models/$name" "$mode"
	done < <("$py" - "$repo/testdata/models/manifest.json" <<-'EOF'
		import json, sys
		for f in json.load(open(sys.argv[1]))["fixtures"]:
		    s = f["strategy"]
		    mode = "tf1" if f["name"].startswith("tf1_") else "mirrored" if "Mirrored" in s and "TF1" not in s else "plain"
		    print("%s\t%s" % (f["name"], mode))
	EOF
	)
fi

echo "== load average at the end: $(load)"
echo
# Per model and command: median seconds, max RSS, status of the last run,
# and the ratio of the median to the median of unmirror (>1: unmirror faster).
awk -F'\t' '
	{ k = $1 SUBSEP $2; n[k]++; t[k, n[k]] = $4; if ($5 > rss[k]) rss[k] = $5; st[k] = $6
	  if (!($1 in seen)) { seen[$1] = 1; models[++nm] = $1 }
	  if (!(($1, $2) in seenc)) { seenc[$1, $2] = 1; cmds[$1, ++nc[$1]] = $2 } }
	function median(k,   i, j, m, a, x) {
		m = n[k]; for (i = 1; i <= m; i++) a[i] = t[k, i] + 0
		for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	END {
		printf "%-26s %-18s %5s %9s %10s %14s  %s\n", "model", "command", "runs", "median s", "max RSS", "÷ unmirror", "status"
		for (i = 1; i <= nm; i++) {
			mo = models[i]; u = median(mo SUBSEP "unmirror")
			for (j = 1; j <= nc[mo]; j++) {
				c = cmds[mo, j]; k = mo SUBSEP c; md = median(k)
				r = (u > 0 && st[k] == "ok") ? sprintf("%.2f", md / u) : "-"
				printf "%-26s %-18s %5d %9.3f %7.0f MiB %14s  %s\n", mo, c, n[k], md, rss[k] / 1024, r, st[k]
			}
		}
		# The ratios of medians the issue asks for ("-" when a command is
		# missing or its last run failed).
		split("unmirror/cp+fsync unmirror-nosync/cp python/unmirror python/unmirror-nosync python/unmirror-hardlink", ratios, " ")
		printf "\nratios of medians (issue 9: unmirror <= 1.2x cp; python >= 20x unmirror)\n"
		printf "%-26s", "model"
		for (q = 1; q <= 5; q++) printf " %24s", ratios[q]
		printf "\n"
		for (i = 1; i <= nm; i++) {
			mo = models[i]; printf "%-26s", mo
			for (q = 1; q <= 5; q++) {
				split(ratios[q], ab, "/"); ka = mo SUBSEP ab[1]; kb = mo SUBSEP ab[2]
				ok = n[ka] && n[kb] && st[ka] == "ok" && st[kb] == "ok" && median(kb) > 0
				printf " %24s", ok ? sprintf("%.2f", median(ka) / median(kb)) : "-"
			}
			printf "\n"
		}
	}' "$results"
if [[ "$checks_failed" != 0 ]]; then
	echo "run.sh: a rewritten big model failed its load check (above)" >&2
	exit 1
fi
