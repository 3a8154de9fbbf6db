#!/usr/bin/env python3
"""Runs the model matrix: builds every cell's SavedModel with its TensorFlow
version (cached), records what TF's loaders do with it on one CPU, compares
"unmirror verify" and "unmirror inspect" with that, rewrites it, and checks
that the rewritten model loads with the outputs TF computed under the
strategy, in the writer's version and in TF 2.21.

Usage (from the repository root; run.sh runs it with the repository's venv,
whose numpy the comparison of outputs needs):
    bash testdata/tf/matrix/run.sh                     # the whole matrix
    bash testdata/tf/matrix/run.sh --versions 2.18     # the 2.18 cells
    bash testdata/tf/matrix/run.sh --sample ci         # the CI sample
    bash testdata/tf/matrix/run.sh --plan              # print the cells and invalid pairs only
    bash testdata/tf/matrix/run.sh --table             # rewrite the README section from the last results

Everything goes to the cache, $UNMIRROR_MATRIX_CACHE (default
<repo>/.cache/matrix, gitignored): venvs (venvs.sh), models/<cell>/ (the
built model, build.json, before-<runtime>.json: kept and reused), and
results.json (this run's verdicts, rewrites and after-checks, redone each
run since they test the Go code). It prints the agreement matrix and exits 1
when verify disagrees with TensorFlow or a rewritten model fails to load.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
import axes  # noqa: E402
import check as check_mod  # noqa: E402  (its comparison helpers need numpy)

CACHE = os.environ.get("UNMIRROR_MATRIX_CACHE", os.path.join(REPO, ".cache", "matrix"))
README = os.path.join(REPO, "testdata", "models", "README.md")
BEGIN = "<!-- BEGIN MATRIX TABLE (testdata/tf/matrix/run.py) -->"
END = "<!-- END MATRIX TABLE -->"
AFTER_VERSION = "2.21"
sys.path.insert(0, os.path.dirname(HERE))
from generate import WORKER_ENV as ENV  # noqa: E402  (deterministic, CPU only, quiet)
# The CI sample: one cell per strategy family of the 2.18 cells plus the two
# issue 15 cells, chosen by key so that it does not move when the plan grows.
CI_SAMPLE = 8


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def venvs(versions):
    out = subprocess.run(["bash", os.path.join(HERE, "venvs.sh")] + sorted(versions),
                         check=True, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, UNMIRROR_MATRIX_CACHE=CACHE)).stdout
    return dict(line.split(" ", 1) for line in out.strip().splitlines())


def runtimes(cell):
    rts = ["tf2", "tf1"]
    if cell["save_api"] in ("keras_tf", "keras_tf_noopt"):
        rts.append("keras")
    return rts


def env():
    e = dict(os.environ)
    e.update(ENV)
    return e


def run_json(cmd, prefix, timeout):
    """Runs cmd, returns the JSON after prefix on its stdout, or an error."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, env=env())
    except subprocess.TimeoutExpired:
        return {"ok": False, "loads": False, "error": "timeout after %ds (hang)" % timeout}
    for line in p.stdout.splitlines():
        if line.startswith(prefix):
            return json.loads(line[len(prefix):])
    tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
    return {"ok": False, "loads": False, "error": "check crashed (exit %d): %s" % (p.returncode, tail[:300])}


def check(py, model, expect, rt, timeout=180):
    return run_json(["nice", py, os.path.join(HERE, "check.py"), model, "--expect", expect, "--runtime", rt],
                    "matrix-check: ", timeout)


def build_cell(cell, py):
    """Builds the cell's model into the cache unless present; returns build.json."""
    d = os.path.join(CACHE, "models", axes.key(cell))
    res = os.path.join(d, "build.json")
    if os.path.exists(res):
        with open(res) as f:
            return json.load(f)
    scratch = tempfile.mkdtemp(prefix="matrix-build-")
    out = os.path.join(scratch, "model")
    start = time.time()
    try:
        p = subprocess.run(["nice", py, os.path.join(HERE, "build.py"), "--cell",
                            json.dumps({a: cell[a] for a in axes.AXIS_NAMES}), "--out", out,
                            "--result", os.path.join(scratch, "build.json")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1200, env=env())
        try:
            with open(os.path.join(scratch, "build.json")) as f:
                b = json.load(f)
        except OSError:
            tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
            b = {"ok": False, "error": "build crashed (exit %d): %s" % (p.returncode, tail[:300])}
    except subprocess.TimeoutExpired:
        b = {"ok": False, "error": "build timed out after 1200s"}
    b["cell"] = {a: cell[a] for a in axes.AXIS_NAMES}
    b["wall_seconds"] = round(time.time() - start, 1)
    os.makedirs(d, exist_ok=True)
    if b.get("ok"):
        shutil.rmtree(os.path.join(d, "model"), ignore_errors=True)
        shutil.move(out, os.path.join(d, "model"))
    with open(res, "w") as f:
        json.dump(b, f, indent=1)
    shutil.rmtree(scratch, ignore_errors=True)
    return b


def before(cell, py, version=None):
    """What TF's loaders of the writer's version (or of version) do with the
    original (cached)."""
    d = os.path.join(CACHE, "models", axes.key(cell))
    out = {}
    for rt in runtimes(cell):
        p = os.path.join(d, "before-%s.json" % rt if version is None else "original-%s-%s.json" % (version, rt))
        if not os.path.exists(p):
            r = check(py, os.path.join(d, "model"), os.path.join(d, "build.json"), rt)
            with open(p, "w") as f:
                json.dump(r, f)
        with open(p) as f:
            out[rt] = json.load(f)
    return out


def unmirror(binary, *args):
    p = subprocess.run([binary] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


def verdicts(binary, model):
    code, out, err = unmirror(binary, "verify", "--json", model)
    v = {"verify_exit": code, "verify_portable": code == 0 if code in (0, 1) else None}
    try:
        doc = json.loads(out)
        v["verify_reasons"] = [r["kind"] + ": " + r["what"][:160] for r in doc.get("reasons", [])]
    except ValueError:
        v["verify_reasons"] = [(err.strip() or out.strip())[:300]]
    code, out, err = unmirror(binary, "inspect", "--json", model)
    try:
        doc = json.loads(out)
        v["inspect_portable"] = [x for x in doc["verdicts"] if x["target"] == "cpu"][0]["portable"]
    except (ValueError, KeyError, IndexError):
        v["inspect_portable"] = None
    return v


def binary_hash(binary):
    import hashlib
    with open(binary, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def after(cell, binary, pys, work):
    """Rewrites the model and checks the output in the writer's version and
    2.21; cached per unmirror binary (a rebuilt binary redoes it)."""
    d = os.path.join(CACHE, "models", axes.key(cell))
    cached = os.path.join(d, "after-%s.json" % binary_hash(binary))
    if os.path.exists(cached):
        with open(cached) as f:
            return json.load(f)
    r = rewrite_and_check(cell, binary, pys, work, d)
    if "after" in r and all(v in pys for v in {cell["version"], AFTER_VERSION}) or r["rewrite_exit"] != 0:
        with open(cached, "w") as f:
            json.dump(r, f)
    return r


def rewrite_and_check(cell, binary, pys, work, d):
    out = os.path.join(work, axes.key(cell))
    code, sout, serr = unmirror(binary, "rewrite", "--quiet", os.path.join(d, "model"), out)
    r = {"rewrite_exit": code, "rewrite_error": serr.strip()[-400:] if code else ""}
    if code != 0:
        return r
    vcode, vout, _ = unmirror(binary, "verify", out)
    r["verify_after_exit"] = vcode
    r["after"] = {}
    for ver in sorted({cell["version"], AFTER_VERSION}):
        if ver not in pys:
            continue
        for rt in runtimes(cell):
            r["after"]["%s/%s" % (ver, rt)] = check(pys[ver], out, os.path.join(d, "build.json"), rt)
    shutil.rmtree(out, ignore_errors=True)
    return r


def select(cells, args):
    if args.versions:
        cells = [c for c in cells if c["version"] in args.versions]
    if args.sample == "ci":
        risky = [c for c in cells if "risky: issue 15" in c["why"]]
        rest = [c for c in cells if c not in risky and c["version"] == "2.18"]
        seen, pick = set(), []
        for c in sorted(rest, key=axes.key):
            fam = c["strategy"].rstrip("0123456789").split("_")[0]
            if fam not in seen:
                seen.add(fam)
                pick.append(c)
        cells = risky + pick[:CI_SAMPLE - len(risky)]
    if args.only:
        cells = [c for c in cells if any(o in axes.key(c) for o in args.only)]
    if args.limit:
        cells = cells[:args.limit]
    return cells


def run_cell(cell, pys, binary, work):
    rec = {"cell": {a: cell[a] for a in axes.AXIS_NAMES}, "why": cell["why"], "key": axes.key(cell)}
    b = build_cell(cell, pys[cell["version"]])
    rec["build"] = {k: b.get(k) for k in ("ok", "error", "trained", "tf_version", "keras", "seconds")}
    if not b.get("ok"):
        return rec
    rec["before"] = before(cell, pys[cell["version"]])
    if cell["version"] != AFTER_VERSION and AFTER_VERSION in pys:
        # What TF 2.21 itself computes from the original: a rewritten model
        # checked in 2.21 is held to it where 2.21's kernels differ.
        rec["original_in_after_version"] = before(cell, pys[AFTER_VERSION], AFTER_VERSION)
    rec.update(verdicts(binary, os.path.join(CACHE, "models", axes.key(cell), "model")))
    rec.update(after(cell, binary, pys, work))
    return rec


def judge(rec):
    """Adds TF's answer and the agreement of verify and inspect with it."""
    if not rec["build"]["ok"]:
        return
    loads = all(r.get("loads") for r in rec["before"].values())
    rec["tf_loads_everywhere"] = loads
    for tool in ("verify", "inspect"):
        p = rec.get(tool + "_portable")
        if p is None:
            rec[tool + "_agrees"] = None
        else:
            rec[tool + "_agrees"] = p == loads
    aft = rec.get("after", {})
    # A rewritten model must reproduce TF's outputs under the strategy, or,
    # where TF's own loader of the original computes something else on one
    # CPU (a replica-local read of a sync-on-read variable whose checkpoint
    # holds the aggregate), exactly what TF computes with the original.
    for k, r in aft.items():
        ver = k.split("/")[0]
        origs = rec["before"] if ver == rec["cell"]["version"] else rec.get("original_in_after_version", {})
        r["as_original"] = bool(not r.get("ok") and r.get("loads") and any(
            o.get("loads") and check_mod.same_outputs(o.get("outputs", {}), r.get("outputs", {}))
            for o in origs.values()))
    rec["after_ok"] = rec.get("rewrite_exit") == 0 and bool(aft) and all(
        r.get("ok") or r.get("as_original") for r in aft.values())
    rec["after_as_strategy"] = rec.get("rewrite_exit") == 0 and bool(aft) and all(r.get("ok") for r in aft.values())
    rec["rewrite_verify_agree"] = rec.get("rewrite_exit") != 0 or rec.get("verify_after_exit") == 0


def agreement(recs):
    built = [r for r in recs if r["build"]["ok"]]
    lines = []
    lines.append("cells: %d planned, %d built, %d refused by TensorFlow at build time" %
                 (len(recs), len(built), len(recs) - len(built)))
    for tool in ("verify", "inspect"):
        agree = sum(1 for r in built if r.get(tool + "_agrees"))
        fnp = sum(1 for r in built if r.get(tool + "_portable") is False and r["tf_loads_everywhere"])
        fp = sum(1 for r in built if r.get(tool + "_portable") is True and not r["tf_loads_everywhere"])
        err = sum(1 for r in built if r.get(tool + "_portable") is None)
        lines.append("%-8s agrees with TF on %d/%d (%.1f%%): false \"not portable\" %d, false \"portable\" %d, "
                     "no verdict %d" % (tool, agree, len(built), 100.0 * agree / max(1, len(built)), fnp, fp, err))
    per_rt = collections.defaultdict(lambda: [0, 0, 0])  # runtime -> [agree, false_np, false_p]
    for r in built:
        for rt, b in r["before"].items():
            p = r.get("verify_portable")
            if p is None:
                continue
            # Per runtime: a "portable" verdict promises this runtime loads it;
            # "not portable" must be explained by some runtime failing.
            if p and not b.get("loads"):
                per_rt[rt][2] += 1
            elif not p and r["tf_loads_everywhere"]:
                per_rt[rt][1] += 1
            else:
                per_rt[rt][0] += 1
    for rt in sorted(per_rt):
        a, fnp, fp = per_rt[rt]
        lines.append("verify vs %-6s agree %d, false \"not portable\" %d, false \"portable\" %d" % (rt, a, fnp, fp))
    rw = [r for r in built if "rewrite_exit" in r]
    lines.append("rewrite: %d/%d exit 0; after the rewrite %d/%d load in every runtime (writer's version and "
                 "%s) with TF's outputs under the strategy, %d more with the outputs TF's own loader computes "
                 "from the original on one CPU; rewrite and verify disagree on %d" %
                 (sum(1 for r in rw if r["rewrite_exit"] == 0), len(rw), sum(1 for r in rw if r["after_as_strategy"]),
                  len(rw), AFTER_VERSION, sum(1 for r in rw if r["after_ok"] and not r["after_as_strategy"]),
                  sum(1 for r in rw if not r["rewrite_verify_agree"])))
    return lines


def disagreements(recs):
    out = []
    for r in recs:
        if not r["build"]["ok"]:
            continue
        if r.get("verify_agrees") is False or r.get("inspect_agrees") is False:
            out.append("DISAGREE %s: TF loads everywhere=%s, verify portable=%s (%s); before %s" % (
                r["key"], r["tf_loads_everywhere"], r.get("verify_portable"), "; ".join(r.get("verify_reasons", []))[:300],
                {k: (v.get("loads"), v.get("error", "")[:120]) for k, v in r["before"].items()}))
        if "rewrite_exit" in r and not r["after_ok"]:
            bad = {k: v.get("error", "")[:160] for k, v in r.get("after", {}).items() if not v.get("ok")}
            out.append("AFTER %s: rewrite exit %d %s %s" % (r["key"], r["rewrite_exit"], r.get("rewrite_error", "")[:200], bad))
        if not r.get("rewrite_verify_agree", True):
            out.append("REWRITE/VERIFY %s: rewrite exit 0 but verify of its output exit %s" % (r["key"], r.get("verify_after_exit")))
    return out


def frac(n, d):
    return "%d/%d" % (n, d) if d else "—"


def table(recs):
    """Markdown: rows are axis values, columns before per runtime, verify
    agreement, after per runtime."""
    built = [r for r in recs if r["build"]["ok"]]
    rts = ["tf2", "tf1", "keras"]
    head = ("| Axis | Value | Cells (built/planned) | " + " | ".join("Before %s" % rt for rt in rts) +
            " | Verify agrees | Inspect agrees | " + " | ".join("After %s" % rt for rt in rts) + " |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for a in axes.AXIS_NAMES:
        for v in axes.VALUES[a]:
            planned = [r for r in recs if r["cell"][a] == v]
            if not planned:
                continue
            b = [r for r in built if r["cell"][a] == v]
            row = ["`%s`" % a, "`%s`" % v, "%d/%d" % (len(b), len(planned))]
            for rt in rts:
                have = [r for r in b if rt in r["before"]]
                row.append(frac(sum(1 for r in have if r["before"][rt].get("loads")), len(have)))
            for tool in ("verify", "inspect"):
                row.append(frac(sum(1 for r in b if r.get(tool + "_agrees")), len(b)))
            for rt in rts:
                have = [(r, k) for r in b for k in r.get("after", {}) if k.endswith("/" + rt)]
                row.append(frac(sum(1 for r, k in have if r["after"][k].get("ok") or r["after"][k].get("as_original")),
                                len(have)))
            lines.append("| " + " | ".join(row) + " |")
    return lines


def write_readme(results):
    recs = results["records"]
    body = [BEGIN, "",
            "Measured by `%s` on %s (%s cells; TF versions %s; \"Before\": the original loads and runs its "
            "signatures on one CPU in that runtime of the writer's TF version; \"After\": the rewritten model "
            "loads with the outputs TF computed under the strategy, in the writer's version and in %s, counted "
            "per version)." % ("`, `".join(results.get("commands", [results["command"]])), results["date"], len(recs),
                               ", ".join(sorted({r["cell"]["version"] for r in recs})), AFTER_VERSION), ""]
    body += ["```"] + agreement(recs) + ["```", ""] + table(recs) + ["", END]
    with open(README) as f:
        text = f.read()
    if BEGIN in text:
        pre, rest = text.split(BEGIN, 1)
        post = rest.split(END, 1)[1]
        text = pre + "\n".join(body) + post
    else:
        text = text.rstrip("\n") + "\n\n## Model matrix\n\n" + "\n".join(body) + "\n"
    with open(README, "w") as f:
        f.write(text)


def save_results(path, results, recs):
    """Merges recs into the results file and returns the merged results:
    results.json keeps every cell ever run (this run's replace earlier
    ones), so that runs per version, or interrupted runs, add up to the
    whole matrix. Two runs may save at once: the file is locked."""
    import fcntl
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged, commands = {}, []
        if os.path.exists(path):
            with open(path) as f:
                old = json.load(f)
            merged = {r["key"]: r for r in old.get("records", [])}
            commands = [c for c in old.get("commands", []) if c != results["command"]]
        merged.update({r["key"]: r for r in recs})
        plan = {axes.key(c) for c in axes.covering_array()}
        out = dict(results, records=[merged[k] for k in sorted(merged) if k in plan],
                   commands=commands + [results["command"]])
        with open(path + ".tmp", "w") as f:
            json.dump(out, f, indent=1)
        os.replace(path + ".tmp", path)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--versions", nargs="*", help="TF versions to run (default: all)")
    ap.add_argument("--sample", choices=["ci"], help="run the CI sample only")
    ap.add_argument("--only", nargs="*", help="cells whose key contains one of these strings")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--plan", action="store_true", help="print the plan and exit")
    ap.add_argument("--table", action="store_true", help="write the README section from the last results")
    ap.add_argument("--no-readme", action="store_true", help="do not write the README section")
    args = ap.parse_args()
    cells = axes.covering_array()
    os.makedirs(CACHE, exist_ok=True)
    results_path = os.path.join(CACHE, "results.json")
    if args.plan:
        for c in cells:
            print(axes.key(c), c["why"])
        for a, va, b, vb, why in axes.invalid_pairs():
            print("INVALID %s=%s %s=%s: %s" % (a, va, b, vb, why))
        print("%d cells, %d invalid pairs, %d valid pairs uncovered" %
              (len(cells), len(axes.invalid_pairs()), len(axes.check_coverage(cells))))
        return 0
    if args.table:
        with open(results_path) as f:
            results = json.load(f)
        for r in results["records"]:
            d = os.path.join(CACHE, "models", r["key"])
            if r["build"]["ok"] and "original_in_after_version" not in r:
                orig = {}
                for rt in r["before"]:
                    p = os.path.join(d, "original-%s-%s.json" % (AFTER_VERSION, rt))
                    if os.path.exists(p):
                        with open(p) as f:
                            orig[rt] = json.load(f)
                if orig:
                    r["original_in_after_version"] = orig
            judge(r)
        write_readme(results)
        return 0
    cells = select(cells, args)
    need = {c["version"] for c in cells} | {AFTER_VERSION}
    pys = venvs(need)
    binary = os.path.join(CACHE, "unmirror")
    subprocess.run(["go", "build", "-o", binary, "./examples/unmirror"], cwd=REPO, check=True)
    work = tempfile.mkdtemp(prefix="matrix-rewrite-")
    start = time.time()
    recs = []
    command = ("bash testdata/tf/matrix/run.sh " + " ".join(sys.argv[1:])).strip()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(run_cell, c, pys, binary, work): c for c in cells}
        for i, fut in enumerate(concurrent.futures.as_completed(futs), 1):
            r = fut.result()
            judge(r)
            recs.append(r)
            save_results(results_path, {"command": command, "date": time.strftime("%Y-%m-%d", time.gmtime()),
                                        "seconds": round(time.time() - start)}, [r])
            log("[%d/%d] %s build=%s tf_loads=%s verify=%s after=%s" % (
                i, len(cells), r["key"], r["build"]["ok"] or r["build"]["error"][:80],
                r.get("tf_loads_everywhere"), r.get("verify_portable"), r.get("after_ok")))
    shutil.rmtree(work, ignore_errors=True)
    recs.sort(key=lambda r: r["key"])
    results = {"command": command, "date": time.strftime("%Y-%m-%d", time.gmtime()),
               "seconds": round(time.time() - start), "records": recs,
               "invalid_pairs": [dict(zip(("axis_a", "value_a", "axis_b", "value_b", "reason"), p))
                                 for p in axes.invalid_pairs()]}
    all_results = save_results(results_path, results, recs)
    lines = agreement(recs)
    print("\n".join(lines))
    for d in disagreements(recs):
        print(d)
    for r in recs:
        if not r["build"]["ok"]:
            print("REFUSED %s: %s" % (r["key"], r["build"]["error"][:200]))
    print("took %ds; results in %s" % (results["seconds"], results_path))
    if not args.no_readme and not args.sample and not args.only and not args.limit:
        write_readme(all_results)
    bad = [r for r in recs if r["build"]["ok"] and (not r.get("verify_agrees") or not r.get("after_ok")
                                                     or not r.get("rewrite_verify_agree"))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
