#!/usr/bin/env python3
"""Generates a big SavedModel with real TensorFlow, for testdata/bench/run.sh.

Usage: genbig.py KIND MODEL_DIR MIB
       genbig.py check MODEL_DIR MIB

KIND is one of
  mirrored  MirroredStrategy over 2 logical CPUs, embedding tables totalling
            MIB MiB, saved with EXPAND_DISTRIBUTED_VARIABLES: the graph holds a
            replica VarHandleOp per table (the rewrite folds them), the
            checkpoint one copy; the checkpoint plan is unchanged, so unmirror
            copies (or hard-links) the variables files.
  sharded   ShardedVariable tables (2 parts each, as ParameterServerStrategy's
            partitioners make) totalling MIB MiB: the rewrite assembles the
            parts, so unmirror rebuilds the bundle.
  maxshard  plain variable tables totalling MIB MiB saved with
            SaveOptions(experimental_sharding_callback=MaxShardSizePolicy(
            MIB/60 MiB)): TensorFlow cuts every table into slices across 60+
            data shards (issue 14); the rewrite assembles each table from its
            slices, so unmirror rebuilds the bundle.

Each table is float32 [rows, 1024] of at most 256 MiB, filled with
stateless random values (incompressible, deterministic). The serving
signature looks up a few rows of every table and sums them.
Nothing here is committed: run.sh writes into a temporary directory.

"check" loads MODEL_DIR (a rewritten model of either kind, MIB as when it
was generated) with tf.saved_model.load in this process, on one CPU,
calls serving_default with the first row, the last row and the two rows
around the middle (where the sharded kind splits its tables), and compares
the result with the same rows of the tables recomputed from their seeds. It
prints one line of JSON, {"ok": bool, "max_abs_diff": x, "error": "..."},
and exits 1 unless ok.
"""

import json

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import tensorflow as tf  # noqa: E402

DIM = 1024
MAX_TABLE_MIB = 256


def tables(mib):
    """Row counts of the tables: as many 256 MiB tables as fit, then the rest."""
    rows_per_mib = (1 << 20) // (4 * DIM)
    out = []
    while mib > 0:
        m = min(mib, MAX_TABLE_MIB)
        out.append(m * rows_per_mib)
        mib -= m
    return out


def init(i, rows):
    return tf.random.stateless_uniform([rows, DIM], seed=[i, 7], minval=-1, maxval=1)


def serve_fn(lookup, n):
    @tf.function(input_signature=[tf.TensorSpec([4], tf.int32, name="ids")])
    def serve(ids):
        return {"y": tf.add_n([lookup(i, ids) for i in range(n)])}
    return serve


def build_mirrored(out, mib):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(2)])
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    m = tf.Module()
    with strategy.scope():
        m.tables = [tf.Variable(lambda i=i, r=r: init(i, r), name="table_%d" % i)
                    for i, r in enumerate(tables(mib))]
    m.serve = serve_fn(lambda i, ids: tf.nn.embedding_lookup(m.tables[i], ids), len(m.tables))
    with strategy.scope():
        opts = tf.saved_model.SaveOptions(
            experimental_variable_policy=tf.saved_model.experimental.VariablePolicy.EXPAND_DISTRIBUTED_VARIABLES)
        tf.saved_model.save(m, out, signatures={"serving_default": m.serve}, options=opts)


def build_sharded(out, mib):
    from tensorflow.python.distribute import sharded_variable
    m = tf.Module()
    m.tables = []
    for i, r in enumerate(tables(mib)):
        full = init(i, r)
        half = r // 2
        parts = [tf.Variable(full[:half], name="table_%d/part_0" % i),
                 tf.Variable(full[half:], name="table_%d/part_1" % i)]
        del full
        m.tables.append(sharded_variable.ShardedVariable(parts, name="table_%d" % i))
    m.serve = serve_fn(lambda i, ids: tf.nn.embedding_lookup(m.tables[i], ids), len(m.tables))
    tf.saved_model.save(m, out, signatures={"serving_default": m.serve})


def build_maxshard(out, mib):
    m = tf.Module()
    m.tables = [tf.Variable(init(i, r), name="table_%d" % i) for i, r in enumerate(tables(mib))]
    m.serve = serve_fn(lambda i, ids: tf.nn.embedding_lookup(m.tables[i], ids), len(m.tables))
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=max(1, mib * (1 << 20) // 60))
    tf.saved_model.save(m, out, signatures={"serving_default": m.serve},
                        options=tf.saved_model.SaveOptions(experimental_sharding_callback=policy))


def check(model, mib):
    rows = tables(mib)
    # Every table but the last has the same rows (256 MiB); with a size
    # that is not a multiple of 256 MiB the last is smaller, and the ids
    # must exist in it, so the split point checked is that of the others
    # only when they are all alike.
    r = min(rows)
    ids = tf.constant([0, r // 2 - 1, r // 2, r - 1], tf.int32)
    try:
        got = tf.saved_model.load(model).signatures["serving_default"](ids=ids)["y"]
    except Exception as e:  # noqa: BLE001 - reported, not raised
        first = (str(e).splitlines() or [""])[0]
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, first[:300])}
    want = tf.add_n([tf.gather(init(i, n), ids) for i, n in enumerate(rows)])
    diff = float(tf.reduce_max(tf.abs(got - want)))
    return {"ok": diff <= 1e-5, "max_abs_diff": diff}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("mirrored", "sharded", "maxshard", "check"):
        sys.exit(__doc__)
    kind, out, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "check":
        res = check(out, mib)
        print(json.dumps(res))
        sys.exit(0 if res["ok"] else 1)
    {"mirrored": build_mirrored, "sharded": build_sharded, "maxshard": build_maxshard}[kind](out, mib)


if __name__ == "__main__":
    main()
