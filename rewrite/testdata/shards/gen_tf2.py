"""Writes tf2_captured_parts/: a TF2 SavedModel whose signature is a
concrete function traced before the save that reads the parts of a
ShardedVariable directly, and adds its entry (outputs computed eagerly,
before the save) to manifest.json.

    .venv/bin/python rewrite/testdata/shards/gen_tf2.py rewrite/testdata/shards

TensorFlow 2.18 saves the function with bound_inputs naming the one
full-shape SavedVariable for both parts, and the main graph's call node
passes the part handles, which the saver never restores: tf.saved_model.load
then computes wrong rows and the TF1/C++ loader fails with "Could not find
variable embedding/part_0".
"""
import json
import os
import shutil
import sys

import numpy as np
import tensorflow as tf
from tensorflow.python.distribute import sharded_variable

out = sys.argv[1]
model = os.path.join(out, "tf2_captured_parts")
shutil.rmtree(model, ignore_errors=True)
full = np.arange(24, dtype=np.float32).reshape(6, 4) / 3 - 2
parts = [tf.Variable(full[:3], name="embedding/part_0"), tf.Variable(full[3:], name="embedding/part_1")]
m = tf.Module()
m.embedding = sharded_variable.ShardedVariable(parts, name="embedding")


@tf.function(input_signature=[tf.TensorSpec([4], tf.int32)])
def serve(ids):
    a = tf.gather(m.embedding.variables[0], ids % 3)
    b = tf.gather(m.embedding.variables[1].read_value(), ids % 3)
    return {"y": tf.concat([a, b], axis=1)}


cf = serve.get_concrete_function()
ids = np.array([0, 1, 2, 4], dtype=np.int32)
y = cf(tf.constant(ids))["y"].numpy()
tf.saved_model.save(m, model, signatures={"serving_default": cf})


def spec(v):
    return {"dtype": v.dtype.name, "shape": list(v.shape), "values": v.reshape(-1).tolist()}


path = os.path.join(out, "manifest.json")
with open(path) as f:
    manifest = json.load(f)
manifest["fixtures"] = [fx for fx in manifest["fixtures"] if fx["name"] != "tf2_captured_parts"]
manifest["fixtures"].append({
    "name": "tf2_captured_parts", "tags": ["serve"], "runtimes": ["tf2", "tf1"], "float_tolerance": 1e-5,
    "signatures": {"serving_default": {"inputs": {"ids": spec(ids)}, "outputs": {"y": spec(y)}}}})
with open(path, "w") as f:
    json.dump(manifest, f, indent=1)
