#!/usr/bin/env python3
"""Compares TensorFlow's reading of rewritten checkpoints with the originals'.

Usage (from the repository root):
    .venv/bin/python testdata/tf/ckptcheck.py ORIGINALS REWRITTEN [--same-keys] [--only NAME ...]

ORIGINALS and REWRITTEN are directories of SavedModels with the same names
(testdata/models and the rewriter's output). For every model in both, each
key that tf.train.load_checkpoint lists in the original's variables/ is read
with get_tensor (a sliced tensor is read whole, assembled from its slices by
TensorFlow's BundleReader) from both checkpoints, and the values must be
equal element by element (bitwise for floats, so NaNs and -0.0 count).

A key the original has and the rewritten model lacks is allowed (the default
pipeline drops optimizer slots and replica copies; its report names each)
unless --same-keys is given (a --passes none round trip keeps every key). A
key TensorFlow cannot read whole in the original (TF 2.18 cannot assemble
sliced uint16/uint32/uint64, string or half tensors: GetSliceValue) may stay
so in the rewritten checkpoint (the shards pass keeps the slices of such a
tensor when TF1 part variables restore them one by one); its values are
checked through the model's outputs instead (check_corpus.py).

Prints one line per model and, last, "N models, M keys compared, K failed";
exits 1 on any failure.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def read_all(prefix):
    """Maps every key of the checkpoint to its value or to the error TF gave."""
    r = tf.train.load_checkpoint(prefix)
    out = {}
    for key in r.get_variable_to_dtype_map():
        try:
            out[key] = np.asarray(r.get_tensor(key))
        except Exception as e:  # TensorFlow's reader refuses it
            out[key] = e
    return out


def same(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == object:
        return list(a.reshape(-1)) == list(b.reshape(-1))
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def check(orig, new, same_keys):
    a = read_all(os.path.join(orig, "variables", "variables"))
    b = read_all(os.path.join(new, "variables", "variables"))
    problems, compared, dropped, unreadable = [], 0, 0, 0
    for key, va in sorted(a.items()):
        vb = b.get(key)
        if vb is None:
            dropped += 1
            if same_keys:
                problems.append("%s: missing" % key)
            continue
        if isinstance(vb, Exception) and isinstance(va, Exception):
            unreadable += 1  # kept as slices, as the original: TF reads the parts
            continue
        if isinstance(vb, Exception):
            problems.append("%s: TensorFlow cannot read it in the output: %s" % (key, str(vb).splitlines()[0]))
            continue
        if isinstance(va, Exception):
            unreadable += 1
            continue
        compared += 1
        if not same(va, vb):
            problems.append("%s: values differ (%s %s vs %s %s)" % (key, va.dtype, va.shape, vb.dtype, vb.shape))
    if same_keys:
        problems += ["%s: not in the original" % k for k in sorted(set(b) - set(a))]
    return problems, compared, dropped, unreadable


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("originals")
    ap.add_argument("rewritten")
    ap.add_argument("--same-keys", action="store_true")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    names = args.only or sorted(n for n in os.listdir(args.rewritten)
                                if os.path.isdir(os.path.join(args.originals, n, "variables")))
    total, failed = 0, 0
    for n in names:
        problems, compared, dropped, unreadable = check(
            os.path.join(args.originals, n), os.path.join(args.rewritten, n), args.same_keys)
        total += compared
        failed += len(problems)
        print("%-26s %s  %d keys equal, %d dropped, %d not readable whole in the original" %
              (n, "FAIL" if problems else "ok  ", compared, dropped, unreadable))
        for p in problems:
            print("    " + p)
    print("%d models, %d keys compared, %d failed" % (len(names), total, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
