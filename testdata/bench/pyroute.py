#!/usr/bin/env python3
"""The Python route users take today instead of unmirror: load, re-save.

Usage: pyroute.py MODE SRC DST

MODE is
  plain     tf.saved_model.load(SRC), then tf.saved_model.save(DST) with the
            loaded signatures
  mirrored  the same inside a MirroredStrategy over 2 logical CPUs (for models
            saved under MirroredStrategy or MultiWorkerMirroredStrategy)
  tf1       tf.compat.v1 loader in a session (soft placement, since TF1
            multi-device graphs pin GPUs), then SavedModelBuilder with
            clear_devices=True and the loaded signature defs

Run as a fresh process per model, as users do; run.sh times the whole
process. Prints one JSON line {"ok": bool, "error": str}; exits 0 either way
(a failure is the route's result, not the benchmark's).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import tensorflow as tf  # noqa: E402


def tags_of(src):
    from tensorflow.python.saved_model import loader_impl
    sm = loader_impl.parse_saved_model(src)
    return list(sm.meta_graphs[0].meta_info_def.tags) or ["serve"]


def tf2(src, dst):
    obj = tf.saved_model.load(src)
    sigs = dict(getattr(obj, "signatures", {}) or {})
    tf.saved_model.save(obj, dst, signatures=sigs or None)


def mirrored(src, dst):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(2)])
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        tf2(src, dst)


def tf1(src, dst):
    tf.compat.v1.disable_eager_execution()
    tags = tags_of(src)
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    with tf.compat.v1.Session(graph=tf.Graph(), config=config) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, tags, src)
        b = tf.compat.v1.saved_model.Builder(dst)
        b.add_meta_graph_and_variables(sess, tags, signature_def_map=dict(meta.signature_def),
                                       clear_devices=True)
        b.save()


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("plain", "mirrored", "tf1"):
        sys.exit(__doc__)
    mode, src, dst = sys.argv[1:]
    try:
        {"plain": tf2, "mirrored": mirrored, "tf1": tf1}[mode](src, dst)
        res = {"ok": True, "error": ""}
    except Exception as e:  # the route's failure is its result
        msg = str(e).strip().splitlines()
        res = {"ok": False, "error": "%s: %s" % (type(e).__name__, msg[0] if msg else "")}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
