#!/usr/bin/env python3
"""Runs loadcheck.py for every fixture and runtime and compares with the manifest.

Usage (from the repository root):
    .venv/bin/python testdata/tf/check_corpus.py                      # column before
    .venv/bin/python testdata/tf/check_corpus.py --update             # rewrite "before" + README table
    .venv/bin/python testdata/tf/check_corpus.py --models /tmp/rewritten --column after [--update]
    .venv/bin/python testdata/tf/check_corpus.py --table              # only regenerate the README table

--column before: each result must agree with the manifest's "before" entry: the
  same ok, and, when both failed, loosely the same error (same exception class
  and the same first line once numbers, hex ids and host names are masked).
--column after: every load must succeed with outputs equal to the manifest's
  (the models under --models are the rewriter's output, same names). The
  expected outputs are a signature's "outputs_one_replica" when the manifest
  has it, else its "outputs" (loadcheck.py --expect-one-replica): the rewriter
  replaces a collective by what ONE replica computes (a group of one member:
  a reduce or gather returns its input), so for models with collective ops
  the expectation is what TensorFlow computed for the same function with a
  group of one member, not the original multi-member run (a gather there
  returns every member's rows). --column before always uses "outputs".
--update: stores the results as the "before" (or "after") entries and
  regenerates the table in testdata/models/README.md. The manifest is always
  the committed one (testdata/models/manifest.json) unless --manifest is given.
  With --column before, --update accepts any result (it is the new baseline);
  with --column after, a failed load still counts as a failure (it is stored
  too), since every rewritten model must load.
--table: regenerates the table only (no checks).

The table has one row per fixture and runtime of the manifest (tf2, tf1,
keras) and one "go" row: a Go process loading the model through TF's C API
(examples/serve). The Go results are not in the manifest: they are the golden
files of examples/serve's conformance tests, examples/serve/testdata/
before.json (TestConformanceOriginals) and after.json
(TestConformanceRewritten), read here each time the table is written; "—"
when a file or its fixture is absent. The "go" cell is "ok" when the model
loaded and every signature matched.

Prints a table and, last, a line "N passed, M failed"; exits 1 on any failure.
"""

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(REPO, "testdata", "models")
GO_RESULTS = os.path.join(REPO, "examples", "serve", "testdata")
TABLE_BEGIN = "<!-- BEGIN GENERATED TABLE (check_corpus.py --update) -->"
TABLE_END = "<!-- END GENERATED TABLE -->"


def run_check(models, manifest, name, runtime, timeout, one_replica):
    cmd = [sys.executable, os.path.join(HERE, "loadcheck.py"), os.path.join(models, name),
           "--expect", manifest, "--name", name, "--runtime", runtime, "--timeout", str(timeout)]
    if one_replica:
        cmd.append("--expect-one-replica")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"ok": False, "runtime": runtime, "max_abs_diff": 0.0,
                "error": "loadcheck.py failed (exit %d): %s" % (proc.returncode, proc.stderr.strip()[-400:])}
    return json.loads(lines[-1])


def error_key(err):
    """The loosely compared part of an error: class and masked first line."""
    line = (err or "").splitlines()[0] if err else ""
    line = re.sub(r"0x[0-9a-fA-F]+", "H", line)
    line = re.sub(r"binary running on \S+", "binary running on HOST", line)
    line = re.sub(r"\d+", "N", line)
    return line.strip()[:160]


def same_error(a, b):
    ka, kb = error_key(a), error_key(b)
    if ka == kb:
        return True
    cls_a, cls_b = ka.split(":", 1)[0], kb.split(":", 1)[0]
    if cls_a != cls_b:
        return False
    # Same class: accept when the first 60 masked characters agree.
    return ka[:60] == kb[:60]


def short(err, n=150):
    s = " ".join((err or "").split())
    return s if len(s) <= n else s[:n - 1] + "…"


def cell(entry):
    if not entry:
        return "—"
    if entry.get("ok"):
        return "ok"
    return "FAIL: " + short(entry.get("error", "")).replace("|", "\\|")


def read_go_results(name):
    """The Go golden file name ("before.json"/"after.json") as {fixture: result}."""
    path = os.path.join(GO_RESULTS, name)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {r["fixture"]: r for r in json.load(f)["fixtures"]}


def go_entry(result):
    """A Go golden result (examples/serve Result) as a manifest-style entry."""
    if result is None:
        return None
    sigs = result.get("signatures") or {}
    if result["load"] == "ok":
        bad = ["%s: %s" % (n, sigs[n]) for n in sorted(sigs) if sigs[n] != "ok"]
        if not bad:
            return {"ok": True}
        return {"ok": False, "error": "loads; " + "; ".join(bad)}
    if result["load"] == "error":
        return {"ok": False, "error": result.get("error", "")}
    return {"ok": False, "error": result["load"]}  # "timeout (hang)"


def render_table(manifest, go_before, go_after):
    rows = ["| Fixture | Artifacts | Runtime | Before (TF %s, one CPU) | After (rewritten) |" %
            manifest["tensorflow_version"],
            "|---|---|---|---|---|"]
    for fx in manifest["fixtures"]:
        cells = [(rt, fx.get("before", {}).get(rt), fx.get("after", {}).get(rt)) for rt in fx["runtimes"]]
        cells.append(("go", go_entry(go_before.get(fx["name"])), go_entry(go_after.get(fx["name"]))))
        for i, (rt, before, after) in enumerate(cells):
            rows.append("| %s | %s | %s | %s | %s |" % (
                "`%s`" % fx["name"] if i == 0 else "",
                (", ".join(fx["artifacts"]) or "—") if i == 0 else "", rt,
                cell(before), cell(after)))
    return "\n".join(rows)


def write_readme(manifest, readme):
    table = render_table(manifest, read_go_results("before.json"), read_go_results("after.json"))
    text = open(readme).read() if os.path.exists(readme) else ""
    if TABLE_BEGIN in text and TABLE_END in text:
        head, rest = text.split(TABLE_BEGIN, 1)
        tail = rest.split(TABLE_END, 1)[1]
        text = head + TABLE_BEGIN + "\n" + table + "\n" + TABLE_END + tail
    else:
        text = text + "\n" + TABLE_BEGIN + "\n" + table + "\n" + TABLE_END + "\n"
    with open(readme, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=MODELS, help="directory with one sub-directory per fixture")
    ap.add_argument("--manifest", default=os.path.join(MODELS, "manifest.json"))
    ap.add_argument("--column", choices=("before", "after"), default="before")
    ap.add_argument("--update", action="store_true", help="store results in the manifest and README")
    ap.add_argument("--table", action="store_true",
                    help="only regenerate the README table from the manifest and examples/serve's golden files")
    ap.add_argument("--only", nargs="*", help="fixture names to check")
    ap.add_argument("--jobs", type=int, default=2, help="parallel checks (default 2, for 2 cores)")
    ap.add_argument("--timeout", type=int, default=60, help="per-check timeout in seconds")
    args = ap.parse_args()

    with open(args.manifest) as f:
        manifest = json.load(f)
    readme = os.path.join(os.path.dirname(os.path.abspath(args.manifest)), "README.md")
    if args.table:
        write_readme(manifest, readme)
        print("regenerated the table in %s" % readme)
        return
    fixtures = [fx for fx in manifest["fixtures"] if not args.only or fx["name"] in args.only]
    jobs = [(fx["name"], rt) for fx in fixtures for rt in fx["runtimes"]]
    start = time.time()
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(run_check, args.models, args.manifest, n, rt, args.timeout,
                            args.column == "after"): (n, rt)
                for n, rt in jobs}
        for i, fut in enumerate(concurrent.futures.as_completed(futs), 1):
            results[futs[fut]] = r = fut.result()
            print("[%d/%d] %s %s: %s (%.0fs)" % (i, len(jobs), futs[fut][0], futs[fut][1],
                                                 "ok" if r["ok"] else "fail", r.get("seconds", 0)),
                  file=sys.stderr, flush=True)

    passed = failed = 0
    print("%-24s %-6s %-8s %-8s %-6s %s" % ("fixture", "rt", "expect", "got", "status", "detail"))
    for fx in fixtures:
        for rt in fx["runtimes"]:
            got = results[(fx["name"], rt)]
            if args.column == "after":
                want = {"ok": True}
                good = got["ok"]
            else:
                want = fx.get("before", {}).get(rt)
                if want is None:
                    good = False
                elif want["ok"] != got["ok"]:
                    good = False
                else:
                    good = got["ok"] or same_error(want.get("error"), got.get("error"))
            if args.update and args.column == "before":
                good = True
            passed += good
            failed += not good
            detail = "max_abs_diff=%g" % got.get("max_abs_diff", 0) if got["ok"] else short(got.get("error"), 110)
            if not good and want and not want.get("ok") and not got["ok"]:
                detail += "  (expected: %s)" % short(want.get("error"), 80)
            print("%-24s %-6s %-8s %-8s %-6s %s" % (
                fx["name"], rt, "—" if want is None else ("ok" if want["ok"] else "fail"),
                "ok" if got["ok"] else "fail", "PASS" if good else "FAIL", detail), flush=True)

    if args.update:
        by_name = {fx["name"]: fx for fx in manifest["fixtures"]}
        for (n, rt), got in results.items():
            entry = {"ok": got["ok"], "error": got.get("error", "")}
            by_name[n].setdefault(args.column, {})[rt] = entry
        for fx in manifest["fixtures"]:  # runtime order, for stable diffs
            col = fx.get(args.column)
            if col:
                fx[args.column] = {rt: col[rt] for rt in fx["runtimes"] if rt in col}
        with open(args.manifest, "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        write_readme(manifest, readme)
        print("updated %s column in %s and README.md" % (args.column, args.manifest))
    print("checks took %.1fs" % (time.time() - start))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
