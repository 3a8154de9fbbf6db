#!/usr/bin/env python3
"""Loads one SavedModel the way a TensorFlow runtime does, on one CPU, and
compares every signature's outputs with the manifest.

Usage:
    loadcheck.py MODEL_DIR --expect MANIFEST --name NAME --runtime {tf2,tf1,keras}
                 [--timeout SECONDS] [--expect-one-replica]

Prints ONE line of JSON on stdout:
    {"ok": bool, "runtime": R, "error": "...", "max_abs_diff": x}

Runtimes:
  tf2    tf.saved_model.load, then call every signature in the manifest.
  tf1    graph-mode tf.compat.v1.saved_model.loader.load in a Session with
         allow_soft_placement=False (what the C++ loader used by TF Serving,
         the C API and Go does), then Session.run every signature.
  keras  tf_keras.models.load_model, then call the model (serving_default).

Expected outputs: a signature's "outputs" (what the original process computed,
e.g. a real two-member collective run). With --expect-one-replica (used for
rewritten models: check_corpus.py --column after), a signature's
"outputs_one_replica" is used instead when the manifest has it: what the same
function computes when its collectives have a group of ONE member, which is
what a rewritten model (collectives replaced by one replica's computation)
must reproduce. TensorFlow computed both (fixtures_tf.py); none is hand-written.

The check runs in a fresh child process (one CPU device, GPUs hidden, no
logical device split) with a timeout: collectives whose group has more than one
member wait for peers forever, and that is reported as
{"ok": false, "error": "timeout after Ns (hang: <last stage>)"}; N is the
per-stage limit (import, load, each signature), the whole check is capped at 4N.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

STAGE = "loadcheck-stage:"
RESULT = "loadcheck-result:"


def first_lines(msg, n=3, limit=600):
    lines = [ln.rstrip() for ln in str(msg).splitlines() if ln.strip()]
    out = "\n".join(lines[:n])
    return out[:limit]


# Lines Python's wrappers add around TensorFlow's own error text.
WRAPPER_LINE = re.compile(
    r"^(Restoring from checkpoint failed\.|Graph execution error:|Detected at node .* defined at|"
    r"Node: '|Detected unsupported operations when trying to compile graph|"
    r"\s)")


def error_text(exc):
    """Exception class plus TF's core message (the placer's, kernel's, ...).

    Python's restore wrapper ("Restoring from checkpoint failed ... Original
    error:") and graph-execution tracebacks are dropped and marked by a
    "[restore] " prefix, so the text is what the C++ loader reports too.
    """
    msg = str(exc)
    prefix = ""
    if msg.startswith("Restoring from checkpoint failed."):
        prefix = "[restore] "
        msg = msg.split("Original error:", 1)[-1]
    core = [ln for ln in msg.splitlines() if ln.strip() and not WRAPPER_LINE.match(ln)]
    if not core:
        core = [ln for ln in msg.splitlines() if ln.strip()]
    text = first_lines("%s: %s%s" % (type(exc).__name__, prefix, "\n".join(core)), n=2)
    # Node attrs are printed in hash-map order; sort them so the text is stable.
    return ATTRS.sub(lambda m: m.group(1) + ", ".join(sorted(re.split(r", (?=\w+=)", m.group(2)))) + "]",
                     text)


ATTRS = re.compile(r"(with these attrs: \[)([^\]]*)\]")


def stage(msg):
    print(STAGE + " " + msg, file=sys.stderr, flush=True)


def load_fixture(manifest, name):
    with open(manifest) as f:
        for fx in json.load(f)["fixtures"]:
            if fx["name"] == name:
                return fx
    raise SystemExit("loadcheck: no fixture %r in %s" % (name, manifest))


def np_value(spec):
    import numpy as np
    if spec["dtype"] == "string":
        return np.array([v.encode("utf-8") for v in spec["values"]], dtype=object).reshape(spec["shape"])
    return np.array(spec["values"], dtype=spec["dtype"]).reshape(spec["shape"])


class Mismatch(Exception):
    pass


def compare(sig_name, key, want, got, tol):
    """Returns the max abs diff for float outputs; raises Mismatch otherwise."""
    import numpy as np
    got = np.asarray(got)
    where = "signature %s output %s" % (sig_name, key)
    if list(got.shape) != list(want["shape"]):
        raise Mismatch("%s: shape %s, want %s" % (where, list(got.shape), want["shape"]))
    exp = np_value(want)
    if want["dtype"] == "string":
        g = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in got.reshape(-1)]
        if g != want["values"]:
            raise Mismatch("%s: %s, want %s" % (where, g, want["values"]))
        return 0.0
    if got.dtype.name != want["dtype"]:
        raise Mismatch("%s: dtype %s, want %s" % (where, got.dtype.name, want["dtype"]))
    if got.dtype.kind == "f":
        diff = float(np.max(np.abs(got.astype(np.float64) - exp.astype(np.float64)))) if got.size else 0.0
        if not diff <= tol:
            raise Mismatch("%s: max abs diff %g > tolerance %g" % (where, diff, tol))
        return diff
    if not np.array_equal(got, exp):
        raise Mismatch("%s: %s, want %s" % (where, got.reshape(-1).tolist(), want["values"]))
    return 0.0


def check_keys(sig_name, sig, inputs, outputs):
    """The model's signature must take and return the manifest's keys."""
    for side, want, have in (("inputs", sig["inputs"], inputs), ("outputs", sig["outputs"], outputs)):
        if sorted(want) != sorted(have):
            raise Mismatch("signature %s %s are %s, manifest has %s" %
                           (sig_name, side, sorted(have), sorted(want)))


def run_tf2(model_dir, fx):
    import tensorflow as tf
    stage("tf.saved_model.load")
    m = tf.saved_model.load(model_dir, tags=fx["tags"])
    results = {}
    for sig_name, sig in fx["signatures"].items():
        stage("calling signature %s" % sig_name)
        if sig_name not in m.signatures:
            raise Mismatch("no signature %s (has %s)" % (sig_name, sorted(m.signatures)))
        fn = m.signatures[sig_name]
        check_keys(sig_name, sig, fn.structured_input_signature[1], fn.structured_outputs)
        out = fn(**{k: tf.constant(np_value(v)) for k, v in sig["inputs"].items()})
        results[sig_name] = {k: v.numpy() for k, v in out.items()}
    return results


def run_tf1(model_dir, fx):
    import tensorflow as tf
    results = {}
    g = tf.Graph()
    config = tf.compat.v1.ConfigProto(allow_soft_placement=False)
    with tf.compat.v1.Session(graph=g, config=config) as sess:
        stage("tf.compat.v1.saved_model.loader.load (allow_soft_placement=False)")
        mg = tf.compat.v1.saved_model.loader.load(sess, fx["tags"], model_dir)
        for sig_name, sig in fx["signatures"].items():
            stage("Session.run signature %s" % sig_name)
            if sig_name not in mg.signature_def:
                raise Mismatch("no signature %s (has %s)" % (sig_name, sorted(mg.signature_def)))
            sd = mg.signature_def[sig_name]
            check_keys(sig_name, sig, sd.inputs, sd.outputs)
            feed = {g.get_tensor_by_name(sd.inputs[k].name): np_value(v) for k, v in sig["inputs"].items()}
            fetch = {k: g.get_tensor_by_name(sd.outputs[k].name) for k in sig["outputs"]}
            results[sig_name] = sess.run(fetch, feed)
    return results


def run_keras(model_dir, fx):
    import tensorflow as tf
    import tf_keras
    stage("tf_keras.models.load_model")
    model = tf_keras.models.load_model(model_dir)
    results = {}
    for sig_name, sig in fx["signatures"].items():
        stage("calling the model for %s" % sig_name)
        inputs = {k: tf.constant(np_value(v)) for k, v in sig["inputs"].items()}
        out = model(inputs[next(iter(inputs))] if len(inputs) == 1 else inputs, training=False)
        if isinstance(out, dict):
            results[sig_name] = {k: v.numpy() for k, v in out.items()}
        else:
            outs = out if isinstance(out, (list, tuple)) else [out]
            keys = sorted(sig["outputs"])
            results[sig_name] = {k: v.numpy() for k, v in zip(keys, outs)}
    return results


RUNTIMES = {"tf2": run_tf2, "tf1": run_tf1, "keras": run_keras}


def expected_outputs(sig, one_replica):
    """The outputs a signature must reproduce: "outputs_one_replica" when asked
    for and present, else "outputs"."""
    if one_replica and "outputs_one_replica" in sig:
        return sig["outputs_one_replica"]
    return sig["outputs"]


def child(args):
    fx = load_fixture(args.expect, args.name)
    res = {"ok": False, "runtime": args.runtime, "error": "", "max_abs_diff": 0.0}
    try:
        results = RUNTIMES[args.runtime](args.model_dir, fx)
        stage("comparing outputs")
        diff = 0.0
        for sig_name, sig in fx["signatures"].items():
            got = results[sig_name]
            for key, want in expected_outputs(sig, args.expect_one_replica).items():
                if key not in got:
                    raise Mismatch("signature %s: no output %s (got %s)" % (sig_name, key, sorted(got)))
                diff = max(diff, compare(sig_name, key, want, got[key], fx["float_tolerance"]))
        res.update(ok=True, max_abs_diff=diff)
    except Mismatch as e:
        res.update(error="mismatch: %s" % e)
    except Exception as e:  # the error TF raised is the result
        res.update(error=error_text(e))
    print(RESULT + " " + json.dumps(res), flush=True)


def parent(args):
    env = dict(os.environ)
    env.update({
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "PYTHONHASHSEED": "0",
    })
    cmd = [sys.executable, os.path.abspath(__file__), args.model_dir, "--expect", args.expect,
           "--name", args.name, "--runtime", args.runtime, "--child"]
    if args.expect_one_replica:
        cmd.append("--expect-one-replica")
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True, text=True)
    # The timeout is per stage (import, load, each signature call), so a slow,
    # busy machine is not mistaken for a hang; the whole check is capped at 4x.
    err_lines = []
    last_change = [time.time()]

    def read_stderr():
        for ln in proc.stderr:
            err_lines.append(ln)
            if ln.startswith(STAGE):
                last_change[0] = time.time()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out_chunks = []
    out_reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    out_reader.start()
    timed_out = False
    while proc.poll() is None:
        now = time.time()
        if now - last_change[0] > args.timeout or now - start > 4 * args.timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            timed_out = True
            break
        time.sleep(0.2)
    reader.join(5)
    out_reader.join(5)
    out = "".join(out_chunks)
    err = "".join(err_lines)
    stages = [ln[len(STAGE):].strip() for ln in err.splitlines() if ln.startswith(STAGE)]
    if timed_out:
        res = {"ok": False, "runtime": args.runtime,
               "error": "timeout after %ds (hang: %s)" % (args.timeout, stages[-1] if stages else "starting"),
               "max_abs_diff": 0.0}
    else:
        lines = [ln[len(RESULT):].strip() for ln in out.splitlines() if ln.startswith(RESULT)]
        if lines:
            res = json.loads(lines[-1])
        else:
            tail = [ln for ln in err.splitlines() if ln.strip()][-3:]
            res = {"ok": False, "runtime": args.runtime,
                   "error": first_lines("process died (exit %s) at %s: %s" %
                                        (proc.returncode, stages[-1] if stages else "start",
                                         " | ".join(tail))),
                   "max_abs_diff": 0.0}
    res["seconds"] = round(time.time() - start, 1)
    print(json.dumps(res), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--expect", required=True, help="manifest.json")
    ap.add_argument("--name", required=True, help="fixture name in the manifest")
    ap.add_argument("--runtime", required=True, choices=sorted(RUNTIMES))
    ap.add_argument("--timeout", type=int, default=60, help="seconds one stage may take before the check counts as a hang")
    ap.add_argument("--expect-one-replica", action="store_true",
                    help='compare with a signature\'s "outputs_one_replica" when present '
                         '(for rewritten models), else with "outputs"')
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
