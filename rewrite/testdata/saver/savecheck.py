#!/usr/bin/env python3
"""Runs the saver of a SavedModel in one TF1 session on one CPU.

Usage: savecheck.py MODEL_DIR OUT_PREFIX

Loads MODEL_DIR with the graph-mode loader (allow_soft_placement=False, as the
C++ loader does; this runs SaverDef.restore_op_name), then runs the SaverDef's
save tensor with OUT_PREFIX fed to its filename tensor, reads the checkpoint it
wrote, and prints one JSON line:

    {"ok": true, "keys": [...sorted keys...], "shards": N, "error": ""}

"shards" is the number of data files the merged checkpoint has.
"""

import json
import os
import sys

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    model, out = sys.argv[1], sys.argv[2]
    res = {"ok": False, "keys": [], "shards": 0, "error": ""}
    try:
        import tensorflow as tf
        tf.compat.v1.disable_eager_execution()
        g = tf.Graph()
        with g.as_default():
            config = tf.compat.v1.ConfigProto(allow_soft_placement=False, device_count={"CPU": 1, "GPU": 0})
            with tf.compat.v1.Session(graph=g, config=config) as sess:
                mg = tf.compat.v1.saved_model.loader.load(sess, ["serve"], model)
                sd = mg.saver_def
                sess.run(sd.save_tensor_name, {sd.filename_tensor_name: out})
        reader = tf.train.load_checkpoint(out)
        res["keys"] = sorted(reader.get_variable_to_shape_map())
        d, base = os.path.split(out)
        res["shards"] = sum(1 for f in os.listdir(d) if f.startswith(base + ".data-"))
        res["ok"] = True
    except Exception as e:  # report, do not crash: the caller reads the JSON
        res["error"] = ("%s: %s" % (type(e).__name__, e)).splitlines()[0][:600]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
