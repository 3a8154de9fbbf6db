#!/usr/bin/env python3
"""Writes the fixture SavedModels under testdata/models/ with real TensorFlow.

Usage (from the repository root):

    bash testdata/tf/setup.sh && .venv/bin/python testdata/tf/generate.py
    .venv/bin/python testdata/tf/generate.py --only mirrored_expand plain
    .venv/bin/python testdata/tf/generate.py --out /tmp/models --no-check

Every fixture is built in a fresh subprocess (device configuration must be set
before TensorFlow initialises), saved into a scratch directory, inspected (the
artifacts listed in the manifest are read back from the written proto and
checkpoint, never assumed) and then moved to <out>/<name>/. The manifest
(<out>/manifest.json) records, per fixture, the signatures' inputs and the
outputs the ORIGINAL process computed (under its strategy, or in the TF1
session that built the graph) and, for fixtures with collective ops, the
outputs of one replica alone ("outputs_one_replica": the same functions run by
TensorFlow with a collective group of one member). "before"/"after" entries of
an existing manifest are kept; unless --no-check is given, check_corpus.py
--update then refreshes "before" and the README table.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO, "testdata", "models")
TF_VERSION = "2.18.0"
FLOAT_TOLERANCE = 1e-5

# Environment of every generator subprocess: deterministic, CPU only, quiet.
WORKER_ENV = {
    "PYTHONHASHSEED": "0",
    "TF_DETERMINISTIC_OPS": "1",
    "TF_CUDNN_DETERMINISTIC": "1",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "CUDA_VISIBLE_DEVICES": "",
    "OMP_NUM_THREADS": "1",
}

# Fixture order in the manifest; the builders live in fixtures_tf.py.
FIXTURES = [
    "plain",
    "mirrored_none",
    "mirrored_save_devices",
    "mirrored_expand",
    "multiworker_none",
    "multiworker_save_devices",
    "keras_mirrored",
    "keras_mirrored_expand",
    "tf1_towers",
    "tf1_towers_pbtxt",
    "tf1_mirrored_nccl",
    "tf1_towers_partitioned",
    "tf1_ps_worker",
    "tf1_gpu_table",
    "collective_fn",
    "sharded_variable",
    "ps_strategy",
    "ps_strategy_save_devices",
    "keras_ps_strategy",
    "assets_strings",
    "tpu_leftover",
    "layout_max_shard",
    "layout_callback",
    "layout_ps_max_shard",
    "layout_ps_by_task",
    "layout_tf1_fixed_2",
    "layout_tf1_minmax_4",
    "layout_tf1_nocopy",
    "layout_dtypes",
]


def run_worker(name, out_dir, log_dir):
    """Builds one fixture in a fresh interpreter; returns its manifest entry."""
    scratch = tempfile.mkdtemp(prefix="unmirror-gen-%s-" % name)
    result = os.path.join(scratch, "result.json")
    env = dict(os.environ)
    env.update(WORKER_ENV)
    log = os.path.join(log_dir, name + ".log")
    start = time.time()
    with open(log, "w") as lf:
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "fixtures_tf.py"), name,
             os.path.join(scratch, "model"), result],
            stdout=lf, stderr=subprocess.STDOUT, env=env, cwd=scratch)
    elapsed = time.time() - start
    if proc.returncode != 0 or not os.path.exists(result):
        with open(log) as lf:
            tail = lf.read()[-4000:]
        raise RuntimeError("fixture %s failed (exit %d); log %s:\n%s" %
                           (name, proc.returncode, log, tail))
    with open(result) as f:
        entry = json.load(f)
    dest = os.path.join(out_dir, name)
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.move(os.path.join(scratch, "model"), dest)
    shutil.rmtree(scratch, ignore_errors=True)
    print("generated %-24s %5.1fs  artifacts=%s" %
          (name, elapsed, ",".join(entry["artifacts"])), flush=True)
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="corpus directory (default testdata/models)")
    ap.add_argument("--only", nargs="*", help="fixture names to (re)generate; others are kept")
    ap.add_argument("--jobs", type=int, default=2, help="parallel generator processes")
    ap.add_argument("--no-check", action="store_true",
                    help="do not run check_corpus.py --update afterwards")
    args = ap.parse_args()

    names = args.only or FIXTURES
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        sys.exit("generate.py: unknown fixture(s): %s (known: %s)" %
                 (", ".join(unknown), ", ".join(FIXTURES)))
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "manifest.json")
    old = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            for fx in json.load(f).get("fixtures", []):
                old[fx["name"]] = fx
    log_dir = tempfile.mkdtemp(prefix="unmirror-gen-logs-")
    start = time.time()
    entries = {}
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(run_worker, n, args.out, log_dir): n for n in names}
        for fut in concurrent.futures.as_completed(futs):
            try:
                entries[futs[fut]] = fut.result()
            except Exception as e:  # report all failures, then exit non-zero
                failures.append(str(e))
    fixtures = []
    for n in FIXTURES:
        e = entries.get(n)
        if e is None:
            e = old.get(n)
            if e is None:
                continue
        else:
            prev = old.get(n, {})
            e["before"] = prev.get("before", {})
            if "after" in prev:
                e["after"] = prev["after"]
        fixtures.append(e)
    with open(manifest_path, "w") as f:
        json.dump({"tensorflow_version": TF_VERSION, "fixtures": fixtures}, f, indent=1)
        f.write("\n")
    print("generation took %.1fs (logs in %s)" % (time.time() - start, log_dir), flush=True)
    if failures:
        for msg in failures:
            print(msg, file=sys.stderr)
        sys.exit(1)
    if not args.no_check:
        cmd = [sys.executable, os.path.join(HERE, "check_corpus.py"), "--models", args.out,
               "--manifest", manifest_path, "--update"]
        if args.only:
            cmd += ["--only"] + list(args.only)
        sys.exit(subprocess.call(cmd))


if __name__ == "__main__":
    main()
