#!/usr/bin/env python3
"""Writes mean_v2/: a SavedModel whose signature computes a TF2-style MEAN
all-reduce, CollectiveReduceV2(merge_op=Add, final_op=Id) followed by a
Python division by the group size (as cross_device_ops.CollectiveAllReduce
does), with TensorFlow 2.18.0:

    .venv/bin/python rewrite/testdata/collectives/mean_v2.py rewrite/testdata/collectives/mean_v2

The model is saved, never run (the group has two members). With x = ones([2,3])
one replica computes y = x @ ones([3,4]) = 3 everywhere.
"""
import os
import sys

os.environ["CUDA_VISIBLE_DEVICES"] = ""
import tensorflow as tf  # noqa: E402
from tensorflow.python.ops import collective_ops  # noqa: E402

m = tf.Module()
m.w = tf.Variable(tf.ones([3, 4]))


@tf.function(input_signature=[tf.TensorSpec([2, 3], tf.float32)])
def serve(x):
    h = tf.matmul(x, m.w)
    r = collective_ops.all_reduce_v2(h, group_size=2, group_key=1, instance_key=1,
                                     merge_op="Add", final_op="Id")
    return {"y": r / 2}


m.serve = serve
tf.saved_model.save(m, sys.argv[1], signatures={"serving_default": serve})
