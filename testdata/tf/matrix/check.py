#!/usr/bin/env python3
"""Loads one matrix model the way a TensorFlow runtime does, on one CPU, calls
every recorded signature and compares with what TensorFlow computed under the
strategy.

Usage (run.py calls it in a fresh process, in the venv of the TF version
under test, with a timeout):
    check.py MODEL_DIR --expect BUILD_RESULT.json --runtime {tf2,tf1,keras}

Prints one line of JSON: {"ok": bool, "loads": bool, "error": "...",
"max_rel_diff": x}. "loads" is whether TensorFlow loaded the model and ran
every signature; "ok" additionally requires the outputs to equal the
expected ones: floats within 1e-5 relative (|got-want| <= 1e-5*|want| +
1e-6), everything else exactly.

Runtimes: tf2 = tf.saved_model.load and its signatures; tf1 =
tf.compat.v1.saved_model.loader.load in a Session with
allow_soft_placement=False (what the C++ loader, TF Serving and the C API
do), then Session.run; keras = tf_keras.models.load_model (tf.keras on TF
2.12) and a call of the model.
"""

import argparse
import json
import os
import sys

RTOL, ATOL = 1e-5, 1e-6


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import loadcheck  # noqa: E402  (the corpus checker: input decoding, exact comparisons)
from loadcheck import Mismatch, np_value  # noqa: E402


def compare(where, want, got):
    """Checks got against the manifest-style tensor want: shape, dtype and
    non-float values by the corpus checker's rules (loadcheck.compare), floats
    within 1e-5 relative. Returns the largest relative difference."""
    import numpy as np
    sig, _, key = where.partition(".")
    loadcheck.compare(sig, key, want, got, float("inf"))
    got = np.asarray(got)
    if want["dtype"] == "string" or got.dtype.kind != "f" or not got.size:
        return 0.0
    g, e = got.astype(np.float64), np_value(want).astype(np.float64)
    if not np.all(np.abs(g - e) <= RTOL * np.abs(e) + ATOL):
        raise Mismatch("%s: max abs diff %g beyond 1e-5 relative" % (where, float(np.max(np.abs(g - e)))))
    return float(np.max(np.abs(g - e) / (np.abs(e) + ATOL)))


def tensor_json(a):
    import numpy as np
    a = np.asarray(a)
    if a.dtype.kind in ("S", "O", "U"):
        return {"dtype": "string", "shape": list(a.shape),
                "values": [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in a.reshape(-1)]}
    return {"dtype": a.dtype.name, "shape": list(a.shape), "values": a.reshape(-1).tolist()}


def same_outputs(want, got):
    """Whether two check results' outputs agree (the compare rules)."""
    try:
        for k, d in want.items():
            for o, w in d.items():
                compare("%s.%s" % (k, o), w, np_value(got[k][o]))
        return True
    except (Mismatch, KeyError):
        return False


def first_line(e):
    msg = str(e)
    if "Original error:" in msg:  # Python's restore wrapper; keep TF's own message
        msg = msg.split("Original error:", 1)[1]
    lines = [ln for ln in msg.splitlines() if ln.strip()]
    return ("%s: %s" % (type(e).__name__, lines[0] if lines else ""))[:400]


def run(model_dir, sigs, runtime):
    import tensorflow as tf
    outputs = {}
    if runtime == "tf2":
        m = tf.saved_model.load(model_dir)
        for k, s in sigs.items():
            f = m.signatures[k]
            feed = {n: tf.constant(np_value(v)) for n, v in s["inputs"].items()}
            outputs[k] = {o: t.numpy() for o, t in f(**feed).items()}
    elif runtime == "tf1":
        tf.compat.v1.disable_eager_execution()
        g = tf.Graph()
        config = tf.compat.v1.ConfigProto(allow_soft_placement=False)
        with tf.compat.v1.Session(graph=g, config=config) as sess:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], model_dir)
            for k, s in sigs.items():
                sd = meta.signature_def[k]
                feed = {sd.inputs[n].name: np_value(v) for n, v in s["inputs"].items()}
                outputs[k] = sess.run({o: sd.outputs[o].name for o in s["outputs"]}, feed)
    elif runtime == "keras":
        try:
            import tf_keras as K
        except ImportError:
            K = tf.keras
        model = K.models.load_model(model_dir)
        s = sigs["serving_default"]
        (x,) = [np_value(v) for v in s["inputs"].values()]
        (o,) = list(s["outputs"])
        outputs["serving_default"] = {o: model(tf.constant(x), training=False).numpy()}
    else:
        raise SystemExit("unknown runtime " + runtime)
    return outputs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--expect", required=True)
    ap.add_argument("--runtime", required=True)
    args = ap.parse_args()
    with open(args.expect) as f:
        sigs = json.load(f)["signatures"]
    res = {"runtime": args.runtime, "ok": False, "loads": False, "error": "", "max_rel_diff": 0.0}
    try:
        outs = run(args.model, sigs, args.runtime)
        res["loads"] = True
        res["outputs"] = {k: {o: tensor_json(v) for o, v in d.items()} for k, d in outs.items()}
        for k, s in sigs.items():
            for o, want in s["outputs"].items():
                res["max_rel_diff"] = max(res["max_rel_diff"], compare("%s.%s" % (k, o), want, outs[k][o]))
        res["ok"] = True
    except Mismatch as e:
        res["error"] = "outputs differ: " + str(e)[:400]
    except Exception as e:
        res["error"] = first_line(e)
    print("matrix-check: " + json.dumps(res), flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
