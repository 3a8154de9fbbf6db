"""Writes tf1_partitioned/: a TF1 SavedModel with partitioned variables, and
manifest.json with the outputs TensorFlow computes, in loadcheck.py's format.

    .venv/bin/python rewrite/testdata/shards/gen.py rewrite/testdata/shards

w is a resource variable of shape [4, 6] split in 2 along axis 1 (read as
a whole through the concatenation of its parts); emb a ref variable of shape
[6, 3] split in 3 along axis 0 (read by a partitioned embedding lookup).
"""
import json
import os
import shutil
import sys

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
out = sys.argv[1]
model = os.path.join(out, "tf1_partitioned")
shutil.rmtree(model, ignore_errors=True)
g = tf.Graph()
with g.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [2, 4], name="x")
    ids = tf.compat.v1.placeholder(tf.int32, [3], name="ids")
    w = tf.compat.v1.get_variable(
        "w", shape=[4, 6], use_resource=True,
        partitioner=tf.compat.v1.fixed_size_partitioner(2, axis=1),
        initializer=tf.compat.v1.zeros_initializer())
    emb = tf.compat.v1.get_variable(
        "emb", shape=[6, 3], use_resource=False,
        partitioner=tf.compat.v1.fixed_size_partitioner(3),
        initializer=tf.compat.v1.zeros_initializer())
    y = tf.identity(tf.matmul(x, w.as_tensor()), name="y")
    e = tf.identity(tf.nn.embedding_lookup(emb, ids), name="e")
    xs = np.arange(8, dtype=np.float32).reshape(2, 4) / 10
    idv = np.array([5, 0, 3], dtype=np.int32)
    with tf.compat.v1.Session(graph=g) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        # Distinct values everywhere, so that a part assembled at the wrong
        # place changes the outputs.
        full = {"w": np.arange(24, dtype=np.float32).reshape(4, 6) / 7 - 1,
                "emb": np.arange(18, dtype=np.float32).reshape(6, 3) / 5 + 0.5}
        for name, var, axis in (("w", w, 1), ("emb", emb, 0)):
            start = 0
            for part in var:
                n = part.shape[axis]
                val = full[name][:, start:start + n] if axis else full[name][start:start + n]
                part.load(val, sess)
                start += n
        yv, ev = sess.run([y, e], {x: xs, ids: idv})
        b = tf.compat.v1.saved_model.Builder(model)
        sig = tf.compat.v1.saved_model.predict_signature_def({"x": x, "ids": ids}, {"y": y, "e": e})
        b.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig})
        b.save()


def spec(v):
    return {"dtype": v.dtype.name, "shape": list(v.shape), "values": v.reshape(-1).tolist()}


manifest = {"fixtures": [{
    "name": "tf1_partitioned", "tags": ["serve"], "runtimes": ["tf2", "tf1"], "float_tolerance": 1e-5,
    "signatures": {"serving_default": {
        "inputs": {"x": spec(xs), "ids": spec(idv)},
        "outputs": {"y": spec(yv), "e": spec(ev)}}}}]}
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
