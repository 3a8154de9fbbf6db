#!/usr/bin/env python3
"""Writes the checkpoint layout matrix under testdata/layouts/ with real TensorFlow.

Usage (from the repository root):

    bash testdata/tf/setup.sh && .venv/bin/python testdata/tf/layouts.py
    .venv/bin/python testdata/tf/layouts.py --only tf2_max_shard_3 --out /tmp/layouts

Every layout is one TensorFlow checkpoint (a TensorBundle: ckpt.index and its
data shards), written in a fresh interpreter (TF1 layouts need graph mode and
several logical CPUs set before TensorFlow initialises) to <out>/<name>/, next
to <out>/<name>/tf_reading.json: TensorFlow's own reading of every key of the
checkpoint (tf.train.load_checkpoint(...).get_tensor), which the Go tests
compare with ours element by element. The JSON is

    {"tensorflow_version": "2.18.0", "layout": "...", "scenario": "...",
     "keys": {KEY: {"dtype": "float32", "shape": [..],
                    "bytes": BASE64 of the little-endian elements, row-major}
                   | {"dtype": "string", "shape": [..], "strings": [BASE64, ...]}
                   | {"error": "what TensorFlow's reader said"}}}

Layouts (what the issue-14 matrix asks for; the names say which):
  tf2_max_shard_{2,3,many}  MaxShardSizePolicy slicing one [24,6] tensor across
                            2, 3 and 20 shards (the full-tensor entry's
                            shard_id set by the merge)
  tf2_shard_by_task         ShardByTaskPolicy with variables on two logical CPUs
                            of one task (so one shard)
  tf2_ps_shard_by_task      ShardByTaskPolicy under ParameterServerStrategy:
                            one shard per ps task, the parts as slices
  tf2_callback              a user-written ShardingCallback that slices a
                            tensor along axis 1 into shards 1 and 2
  tf2_dtypes                every dtype a checkpoint holds, each tensor also
                            sliced by MaxShardSizePolicy where TF slices it
  tf1_saver_{fixed,minmax}_{2,4}  TF1 Saver(sharded=True), partitioned variables
                            (fixed_size_partitioner / min_max_variable_partitioner)
                            placed round-robin on 2 or 4 CPUs, with Adam slots
  tf2_ps_{fixed,minsize,maxsize}  ParameterServerStrategy (in-process cluster,
                            2 ps) with each partitioner, checkpointed with
                            MaxShardSizePolicy
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO, "testdata", "layouts")
TF_VERSION = "2.18.0"

ENV = {
    "PYTHONHASHSEED": "0",
    "TF_DETERMINISTIC_OPS": "1",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "CUDA_VISIBLE_DEVICES": "",
    "OMP_NUM_THREADS": "1",
}

LAYOUTS = {}


def layout(name, scenario):
    def register(fn):
        LAYOUTS[name] = (fn, scenario)
        return fn
    return register


# ------------------------------------------------------------------ workers
# Everything below runs in the worker process only (TensorFlow imported lazily).

def tf_import(cpus=1, tf1=False):
    import tensorflow as tf
    if cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpus)])
    if tf1:
        tf.compat.v1.disable_eager_execution()
        tf.compat.v1.disable_resource_variables()
    return tf


def values(tf, shape, dtype, seed):
    import numpy as np
    n = int(np.prod(shape))
    r = np.random.RandomState(seed)
    d = tf.as_dtype(dtype)
    if d == tf.string:
        return np.array([("s%d" % i).encode() * (i % 3) for i in range(n)], dtype=object).reshape(shape)
    if d == tf.bool:
        return (r.randint(0, 2, size=n) == 1).reshape(shape)
    if d.is_complex:
        return (r.uniform(-4, 4, n) + 1j * r.uniform(-4, 4, n)).astype(d.as_numpy_dtype).reshape(shape)
    if d.is_floating:
        return tf.constant(r.uniform(-4, 4, n).reshape(shape), dtype=tf.float64).numpy().astype(
            d.as_numpy_dtype) if d != tf.bfloat16 else tf.cast(r.uniform(-4, 4, n).reshape(shape), tf.bfloat16).numpy()
    lo = max(d.min, -1000)
    hi = min(d.max, 1000)
    return r.randint(lo, hi + 1, size=n).astype(d.as_numpy_dtype).reshape(shape)


def write_tf2(tf, root, prefix, policy):
    opts = tf.train.CheckpointOptions(experimental_sharding_callback=policy)
    tf.train.Checkpoint(root=root).write(prefix, options=opts)


def max_shard(tf, root, prefix, size):
    write_tf2(tf, root, prefix, tf.train.experimental.MaxShardSizePolicy(max_shard_size=size))


def tf2_max_shard(n_slices_size):
    def build(prefix):
        tf = tf_import()
        root = tf.Module()
        # A first variable that fills shard 0, so that the sliced tensor's
        # first slice and its merged full-tensor entry are in shard >= 1.
        root.a = tf.Variable(values(tf, [30], "float32", 1), name="a")
        root.emb = tf.Variable(values(tf, [24, 6], "float32", 2), name="emb")
        root.b = tf.Variable(values(tf, [6], "int64", 3), name="b")
        max_shard(tf, root, prefix, n_slices_size)
    return build


layout("tf2_max_shard_2", "tf.train.Checkpoint.write, MaxShardSizePolicy(max_shard_size=400): "
       "a [24,6] float32 tensor in 3 slices across 2 shards")(tf2_max_shard(400))
layout("tf2_max_shard_3", "tf.train.Checkpoint.write, MaxShardSizePolicy(max_shard_size=250): "
       "a [24,6] float32 tensor in 3 slices across 3 shards (4 in all)")(tf2_max_shard(250))
layout("tf2_max_shard_many", "tf.train.Checkpoint.write, MaxShardSizePolicy(max_shard_size=40): "
       "a [24,6] float32 tensor in 20 slices along both axes across 20 shards (25 in all)")(tf2_max_shard(40))


@layout("tf2_shard_by_task", "tf.train.Checkpoint.write, ShardByTaskPolicy, variables on 2 logical CPUs")
def tf2_shard_by_task(prefix):
    tf = tf_import(cpus=2)
    root = tf.Module()
    with tf.device("/cpu:0"):
        root.a = tf.Variable(values(tf, [5, 3], "float32", 4), name="a")
    with tf.device("/cpu:1"):
        root.b = tf.Variable(values(tf, [7], "int32", 5), name="b")
    write_tf2(tf, root, prefix, tf.train.experimental.ShardByTaskPolicy())


@layout("tf2_callback", "tf.train.Checkpoint.write, a user-written ShardingCallback slicing a "
        "[4,10] tensor along axis 1 into shards 1 and 2 (variable 'a' alone in shard 0)")
def tf2_callback(prefix):
    tf = tf_import()
    from tensorflow.python.checkpoint.sharding import sharding_util

    class SplitAxis1(sharding_util.ShardingCallback):
        @property
        def description(self):
            return "split the big tensor along axis 1"

        def __call__(self, shardable_tensors):
            shards = [{}, {}, {}]
            for st in shardable_tensors:
                key, spec = st.checkpoint_key, st.slice_spec
                if st.tensor.shape.rank == 2 and st.tensor.shape[1] == 10:
                    for i, (start, length) in enumerate([(0, 3), (3, 7)]):
                        part = tf.slice(st.tensor, [0, start], [4, length])
                        ss = tf.TensorSpec  # noqa: F841 (spec built below)
                        slice_spec = "4 10 0,4:%d,%d" % (start, length)
                        shards[i + 1].setdefault(key, {})[slice_spec] = part
                else:
                    shards[0].setdefault(key, {})[spec] = st.tensor
            return [s for s in shards if s]

    root = tf.Module()
    root.a = tf.Variable(values(tf, [3], "float32", 6), name="a")
    root.w = tf.Variable(values(tf, [4, 10], "float32", 7), name="w")
    write_tf2(tf, root, prefix, SplitAxis1())


DTYPES = ["float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128", "string"]


def dtype_root(tf, string_shape):
    import numpy as np
    root = tf.Module()
    for i, dt in enumerate(DTYPES):
        shape = string_shape if dt == "string" else [6, 4]
        setattr(root, "t_" + dt, tf.Variable(values(tf, shape, dt, 10 + i), name=dt))
    root.zero_f = tf.Variable(np.zeros([0, 3], np.float32), name="zf")
    root.zero_i = tf.Variable(np.zeros([4, 0], np.int16), name="zi")
    root.scalar = tf.Variable(np.float64(2.5), name="sc")
    root.empty_string = tf.Variable(b"", name="es")
    root.big_string = tf.Variable(b"L" * 70000, name="bs")
    return root


@layout("tf2_dtypes", "tf.train.Checkpoint.write, MaxShardSizePolicy(max_shard_size=64): a [6,4] "
        "tensor of every fixed-size dtype (sliced), scalar strings (empty, over 64 KiB), 0-element "
        "tensors (MaxShardSizePolicy fails on a string tensor of more than one element in TF 2.18)")
def tf2_dtypes(prefix):
    tf = tf_import()
    max_shard(tf, dtype_root(tf, []), prefix, 64)


@layout("tf2_strings", "tf.train.Checkpoint.write without a sharding policy: every dtype, "
        "string tensors with empty strings, a string over 64 KiB, 0-element string and numeric tensors")
def tf2_strings(prefix):
    import numpy as np
    tf = tf_import()
    root = dtype_root(tf, [6, 4])
    root.strings = tf.Variable(np.array([b"", b"L" * 70000, b"", b"tail"], dtype=object), name="ss")
    root.zero_s = tf.Variable(tf.zeros([2, 0], tf.string), name="zs")
    tf.train.Checkpoint(root=root).write(prefix)


def tf1_saver(partitioner_kind, devices):
    def build(prefix):
        import numpy as np
        tf = tf_import(cpus=devices, tf1=True)
        v1 = tf.compat.v1
        if partitioner_kind == "fixed":
            part = v1.fixed_size_partitioner(devices)
        else:
            part = v1.min_max_variable_partitioner(max_partitions=devices, min_slice_size=64)
        g = tf.Graph()
        with g.as_default():
            counter = [0]

            def round_robin(op):
                if op.type in ("VariableV2", "VarHandleOp"):
                    counter[0] += 1
                    return "/cpu:%d" % ((counter[0] - 1) % devices)
                return op.device

            with g.device(round_robin):
                emb = v1.get_variable("emb", shape=[20, 6], partitioner=part,
                                      initializer=v1.random_uniform_initializer(-1, 1, seed=1))
                w = v1.get_variable("fc/kernel", shape=[6, 3], partitioner=part,
                                    initializer=v1.random_uniform_initializer(-1, 1, seed=2))
                b = v1.get_variable("fc/bias", shape=[3], initializer=v1.zeros_initializer())
            x = tf.constant(np.arange(4, dtype=np.int64) % 20)
            h = tf.nn.embedding_lookup(emb, x)
            loss = tf.reduce_sum(tf.square(tf.matmul(h, w) + b))
            train = v1.train.AdamOptimizer(0.1).minimize(loss)
            saver = v1.train.Saver(sharded=True)
            with v1.Session(graph=g, config=v1.ConfigProto(device_count={"CPU": devices})) as s:
                s.run(v1.global_variables_initializer())
                s.run(train)
                saver.save(s, prefix, write_meta_graph=False)
    return build


for _kind in ("fixed", "minmax"):
    for _n in (2, 4):
        layout("tf1_saver_%s_%d" % (_kind, _n),
               "TF1 Saver(sharded=True), %s partitioner, partitions round-robin on %d CPUs, Adam slots"
               % ({"fixed": "fixed_size_partitioner(%d)" % _n,
                   "minmax": "min_max_variable_partitioner(max_partitions=%d, min_slice_size=64)" % _n}[_kind], _n)
               )(tf1_saver(_kind, _n))


def free_port():
    import socket
    s = socket.socket()
    s.bind(("localhost", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def tf2_ps(kind, by_task=False):
    def build(prefix):
        tf = tf_import()
        spec = {"worker": ["localhost:%d" % free_port()],
                "ps": ["localhost:%d" % free_port(), "localhost:%d" % free_port()],
                "chief": ["localhost:%d" % free_port()]}
        cluster = tf.train.ClusterSpec(spec)
        servers = [tf.distribute.Server(cluster, job_name="worker", task_index=0, start=True)]
        servers += [tf.distribute.Server(cluster, job_name="ps", task_index=i, start=True) for i in range(2)]
        p = tf.distribute.experimental.partitioners
        partitioner = {"fixed": p.FixedShardsPartitioner(2),
                       "minsize": p.MinSizePartitioner(min_shard_bytes=64, max_shards=2),
                       "maxsize": p.MaxSizePartitioner(max_shard_bytes=128)}[kind]
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(cluster, rpc_layer="grpc")
        strategy = tf.distribute.experimental.ParameterServerStrategy(resolver, variable_partitioner=partitioner)
        with strategy.scope():
            root = tf.Module()
            root.emb = tf.Variable(values(tf, [12, 4], "float32", 20), name="emb")
            root.bias = tf.Variable(values(tf, [4], "float32", 21), name="bias")
        if by_task:
            write_tf2(tf, root, prefix, tf.train.experimental.ShardByTaskPolicy())
        else:
            max_shard(tf, root, prefix, 100)
        del servers
    return build


for _kind, _doc in (("fixed", "FixedShardsPartitioner(2)"), ("minsize", "MinSizePartitioner(64 B, 2 shards)"),
                    ("maxsize", "MaxSizePartitioner(128 B)")):
    layout("tf2_ps_" + _kind, "ParameterServerStrategy (in-process cluster, 2 ps), %s, [12,4] "
           "ShardedVariable, tf.train.Checkpoint.write with MaxShardSizePolicy(100)" % _doc)(tf2_ps(_kind))


layout("tf2_ps_shard_by_task", "ParameterServerStrategy (in-process cluster, 2 ps), "
       "FixedShardsPartitioner(2), [12,4] ShardedVariable, tf.train.Checkpoint.write with "
       "ShardByTaskPolicy: one shard per ps task, each holding its part as a slice")(tf2_ps("fixed", by_task=True))


def dump_reading(prefix):
    """TensorFlow's reading of every key of the checkpoint at prefix."""
    import numpy as np
    import tensorflow as tf
    r = tf.train.load_checkpoint(prefix)
    out = {}
    for key, dt in sorted(r.get_variable_to_dtype_map().items()):
        try:
            v = r.get_tensor(key)
        except Exception as e:  # TensorFlow's reader refuses it: record what it said
            out[key] = {"error": str(e).strip().splitlines()[0]}
            continue
        a = np.asarray(v)
        e = {"dtype": tf.as_dtype(dt).name, "shape": list(a.shape)}
        if tf.as_dtype(dt) == tf.string:
            e["strings"] = [base64.b64encode(s).decode() for s in a.reshape(-1)]
        else:
            e["bytes"] = base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode()
        out[key] = e
    return out


def worker(name, out_dir):
    fn, scenario = LAYOUTS[name]
    prefix = os.path.join(out_dir, "ckpt")
    fn(prefix)
    for f in os.listdir(out_dir):
        if f == "checkpoint" or f.endswith(".tempstate"):
            os.remove(os.path.join(out_dir, f))
    reading = {"tensorflow_version": TF_VERSION, "layout": name, "scenario": scenario,
               "keys": dump_reading(prefix)}
    with open(os.path.join(out_dir, "tf_reading.json"), "w") as f:
        json.dump(reading, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.out)
        return
    names = args.only or list(LAYOUTS)
    for n in names:
        if n not in LAYOUTS:
            sys.exit("unknown layout %r; known: %s" % (n, ", ".join(LAYOUTS)))
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ)
    env.update(ENV)
    failed = []
    for n in names:
        scratch = tempfile.mkdtemp(prefix="unmirror-layout-%s-" % n)
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", n, "--out", scratch],
                           env=env, capture_output=True, text=True)
        if p.returncode != 0:
            failed.append(n)
            print("%s: FAILED\n%s" % (n, p.stderr[-3000:]), file=sys.stderr)
            shutil.rmtree(scratch, ignore_errors=True)
            continue
        dest = os.path.join(args.out, n)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.move(scratch, dest)
        os.chmod(dest, 0o755)
        print("%s: %s" % (n, " ".join(sorted(os.listdir(dest)))))
    if failed:
        sys.exit("failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
