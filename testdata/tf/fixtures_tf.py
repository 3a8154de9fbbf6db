#!/usr/bin/env python3
"""Builds ONE fixture SavedModel with real TensorFlow (run by generate.py).

Usage: fixtures_tf.py NAME MODEL_DIR RESULT_JSON

Runs in a fresh interpreter so that device configuration (logical CPUs, TF1
graph mode, in-process gRPC servers) can be set before TensorFlow initialises.
Writes the SavedModel to MODEL_DIR and the fixture's manifest entry (without
"before") to RESULT_JSON. Expected outputs are computed by this process: under
the strategy that built the model, or in the TF1 session that built the graph.
For a model with collective ops, every signature also gets
"outputs_one_replica": what the same Python function computes when its
collectives have a group of ONE member (a reduce or gather then returns its own
input), run by TensorFlow in this process after saving.
"""

import contextlib
import functools
import json
import os
import re
import shutil
import socket
import sys
import threading

import numpy as np

# Deterministic, CPU only; generate.py sets these too, repeated for direct runs.
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import tensorflow as tf  # noqa: E402

from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402
from google.protobuf import text_format  # noqa: E402

SEED = 20181
FLOAT_TOLERANCE = 1e-5

BUILDERS = {}
LIVE_SERVERS = []


def builder(name):
    def register(fn):
        BUILDERS[name] = fn
        return fn
    return register


# ---------------------------------------------------------------- helpers

def rng():
    return np.random.RandomState(SEED)


def dense_init():
    """Weights of the small dense model most fixtures share: x[2,3] -> y[2,4]."""
    r = rng()
    w = r.uniform(-1, 1, size=(3, 4)).astype(np.float32)
    b = r.uniform(-1, 1, size=(4,)).astype(np.float32)
    x = r.uniform(-1, 1, size=(2, 3)).astype(np.float32)
    return w, b, x


def logical_cpus(n):
    """Splits the one physical CPU into n logical CPU devices (before TF init)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    return ["/cpu:%d" % i for i in range(n)]


def tensor_json(a):
    a = np.asarray(a)
    if a.dtype.kind in ("S", "O", "U"):
        flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in a.reshape(-1)]
        return {"dtype": "string", "shape": list(a.shape), "values": flat}
    if a.dtype.kind == "f":
        flat = [float(v) for v in a.reshape(-1)]
    elif a.dtype.kind == "b":
        flat = [bool(v) for v in a.reshape(-1)]
    else:
        flat = [int(v) for v in a.reshape(-1)]
    return {"dtype": a.dtype.name, "shape": list(a.shape), "values": flat}


def sig_entry(inputs, outputs, one_replica=None):
    """A signature's manifest entry. one_replica, for signatures of models with
    collective ops, holds the outputs the same function computes with a
    collective group of ONE member (the manifest's "outputs_one_replica")."""
    e = {
        "inputs": {k: tensor_json(v) for k, v in sorted(inputs.items())},
        "outputs": {k: tensor_json(v) for k, v in sorted(outputs.items())},
    }
    if one_replica is not None:
        e["outputs_one_replica"] = {k: tensor_json(v) for k, v in sorted(one_replica.items())}
    return e


def np_outputs(d):
    return {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in d.items()}


def free_port():
    s = socket.socket()
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- inspection

DEVICE_FIELD = re.compile(r"/(job|replica|task|device|cpu|gpu|tpu):", re.I)


def read_saved_model(model_dir):
    sm = saved_model_pb2.SavedModel()
    pb = os.path.join(model_dir, "saved_model.pb")
    if os.path.exists(pb):
        with open(pb, "rb") as f:
            sm.ParseFromString(f.read())
    else:
        with open(os.path.join(model_dir, "saved_model.pbtxt")) as f:
            text_format.Parse(f.read(), sm)
    return sm


def device_kinds(dev):
    """Artifacts named by one device string (see README's vocabulary)."""
    out = set()
    if not dev:
        return out
    d = dev.lower()
    if re.search(r"(device:)?gpu:\d+|/gpu\b|device:gpu", d):
        out.add("device_gpu")
    for m in re.finditer(r"cpu:(\d+)", d):
        if int(m.group(1)) > 0:
            out.add("device_cpu_n")
    m = re.search(r"/job:([^/]+)", d)
    if m and m.group(1) != "localhost":
        out.add("device_job")
    m = re.search(r"/task:(\d+)", d)
    if m and int(m.group(1)) > 0:
        out.add("device_job")
    return out


REPLICA_NAME = re.compile(r"(/replica_\d+$)|(^|/)tower_[1-9]\d*/")
VAR_OPS = {"VarHandleOp", "VariableV2", "Variable", "_VarHandlesOp"}
SLOT_NAME = re.compile(r"\.OPTIMIZER_SLOT/|(^|/)optimizer/_variables/\d+/|/(Adam|Adam_1|Momentum|RMSProp|RMSProp_1|Adagrad|"
                       r"Ftrl|Ftrl_1|Adadelta|Adadelta_1|Nadam|Nadam_1)$")
SLICE_SPEC = re.compile(r"^\d+( \d+)* (-|\d+,\d+)(:(-|\d+,\d+))*$")


def scopes(sm):
    """(name, nodes) for the main graph of every MetaGraph and every function body."""
    for mg in sm.meta_graphs:
        yield "graph", list(mg.graph_def.node)
        for fn in mg.graph_def.library.function:
            yield fn.signature.name, list(fn.node_def)


def inspect_model(model_dir, fmt):
    """Reads the written model back and lists the artifacts it really contains."""
    sm = read_saved_model(model_dir)
    arts = set()
    if fmt == "pbtxt":
        arts.add("pbtxt")
    for _, nodes in scopes(sm):
        by_name = {n.name: n for n in nodes}
        for n in nodes:
            arts |= device_kinds(n.device)
            op = n.op
            if op.startswith("Nccl") or op.startswith("_Nccl"):
                arts.add("nccl_ops")
            if op.startswith("Collective"):
                arts.add("collective_ops")
            if op.startswith("TPU") or op.startswith("_TPU") or "_tpu_replicate" in n.attr:
                arts.add("tpu_ops")
            if op.startswith("Horovod"):
                arts.add("horovod_ops")
            if op in VAR_OPS:
                name = n.attr["shared_name"].s.decode() if "shared_name" in n.attr and n.attr["shared_name"].s else n.name
                if REPLICA_NAME.search(name) or REPLICA_NAME.search(n.name):
                    arts.add("replica_variables")
            if "_class" in n.attr and any(v.startswith(b"loc:@") for v in n.attr["_class"].list.s):
                arts.add("colocation")
            if op in ("SaveV2", "RestoreV2", "SaveSlices", "RestoreSlice") and len(n.input) >= 3:
                src = by_name.get(n.input[2].split(":")[0].lstrip("^"))
                if src is not None and src.op == "Const":
                    specs = [s.decode() for s in src.attr["value"].tensor.string_val]
                    if any(SLICE_SPEC.match(s) for s in specs if s):
                        arts.add("sharded_variable")
    for mg in sm.meta_graphs:
        og = mg.object_graph_def
        for node in og.nodes:
            kind = node.WhichOneof("kind")
            if kind == "variable":
                v = node.variable
                arts |= device_kinds(v.device)
                if v.experimental_distributed_variable_components:
                    arts.add("distributed_variable_components")
                    arts.add("replica_variables")
                    for c in v.experimental_distributed_variable_components:
                        arts |= device_kinds(c.device)
                if v.synchronization == 3:  # VARIABLE_SYNCHRONIZATION_ON_READ
                    arts.add("sync_on_read_variables")
            elif kind == "resource":
                arts |= device_kinds(node.resource.device)
        if mg.asset_file_def:
            arts.add("assets")
        if "saved_model_assets" in mg.collection_def:
            arts.add("assets")
    assets_dir = os.path.join(model_dir, "assets")
    if os.path.isdir(assets_dir) and os.listdir(assets_dir):
        arts.add("assets")
    if os.path.exists(os.path.join(model_dir, "keras_metadata.pb")):
        arts.add("keras_metadata")
    var_dir = os.path.join(model_dir, "variables")
    if os.path.isdir(var_dir):
        shards = [f for f in os.listdir(var_dir) if f.startswith("variables.data-")]
        if len(shards) > 1:
            arts.add("sharded_saver")
        if os.path.exists(os.path.join(var_dir, "variables.index")):
            reader = tf.train.load_checkpoint(os.path.join(var_dir, "variables"))
            dtypes = reader.get_variable_to_dtype_map()
            for key, dt in dtypes.items():
                if dt == tf.string and key != "_CHECKPOINTABLE_OBJECT_GRAPH":
                    arts.add("string_tensors")
                if SLOT_NAME.search(key):
                    arts.add("optimizer_slots")
                if re.search(r"(^|/)part_\d+(/|$)", key):
                    arts.add("sharded_variable")
    return sm, sorted(arts)


def check_signatures(sm, tags, signatures):
    """The manifest's signature keys must be exactly those TF wrote."""
    mg = next(m for m in sm.meta_graphs if sorted(m.meta_info_def.tags) == sorted(tags))
    for name, sig in signatures.items():
        sd = mg.signature_def[name]
        for side, want in (("inputs", sd.inputs), ("outputs", sd.outputs)):
            got = sorted(sig[side])
            if got != sorted(want.keys()):
                raise SystemExit("signature %s %s: manifest %s, SavedModel %s" %
                                 (name, side, got, sorted(want.keys())))


def check_one_replica(name, arts, signatures):
    """Every signature of a model with collective ops has the one-replica
    outputs TensorFlow computed (same keys as "outputs"); no other model has any."""
    collective = "collective_ops" in arts
    for sig_name, sig in signatures.items():
        one = sig.get("outputs_one_replica")
        if collective and one is None:
            raise SystemExit("%s: signature %s has collective ops but no one-replica outputs "
                             "(run it with a group of one member)" % (name, sig_name))
        if not collective and one is not None:
            raise SystemExit("%s: signature %s has one-replica outputs but the model has no "
                             "collective ops" % (name, sig_name))
        if one is not None and sorted(one) != sorted(sig["outputs"]):
            raise SystemExit("%s: signature %s one-replica outputs %s, outputs %s" %
                             (name, sig_name, sorted(one), sorted(sig["outputs"])))


def finish(name, model_dir, result_path, scenario, strategy, policy, runtimes, signatures,
           tags=("serve",), fmt="pb"):
    sm, arts = inspect_model(model_dir, fmt)
    check_signatures(sm, tags, signatures)
    check_one_replica(name, arts, signatures)
    entry = {
        "name": name,
        "scenario": scenario,
        "strategy": strategy,
        "policy": policy,
        "format": fmt,
        "tags": list(tags),
        "artifacts": arts,
        "runtimes": runtimes,
        "float_tolerance": FLOAT_TOLERANCE,
        "signatures": signatures,
    }
    with open(result_path, "w") as f:
        json.dump(entry, f, indent=1)


def to_pbtxt(model_dir):
    """Replaces saved_model.pb by saved_model.pbtxt (TF's loaders read both)."""
    sm = read_saved_model(model_dir)
    with open(os.path.join(model_dir, "saved_model.pbtxt"), "w") as f:
        f.write(text_format.MessageToString(sm))
    os.remove(os.path.join(model_dir, "saved_model.pb"))


# ---------------------------------------------------------------- TF2 fixtures

class Dense(tf.Module):
    def __init__(self, w, b, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(w, name="dense/kernel")
        self.b = tf.Variable(b, name="dense/bias")

    def apply(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


X_SPEC = tf.TensorSpec([2, 3], tf.float32, name="x")


@builder("plain")
def build_plain(name, out, result):
    w, b, x = dense_init()
    m = Dense(w, b)
    m.serve = tf.function(lambda x: {"y": m.apply(x)}, input_signature=[X_SPEC])
    y = np_outputs(m.serve(tf.constant(x)))
    tf.saved_model.save(m, out, signatures={"serving_default": m.serve})
    finish(name, out, result, "control: plain tf.Module, no strategy", "", "",
           ["tf2", "tf1"], {"serving_default": sig_entry({"x": x}, y)})


def save_replicated(strategy, m, x, out, policy):
    """Saves m (a Dense) with two signatures and returns their manifest entries:
    serving_default (plain) and replicated (traced under strategy.run, so the
    replicas' ops are pinned to the strategy's devices in the function body)."""

    @tf.function(input_signature=[X_SPEC])
    def serve(x):
        return {"y": m.apply(x)}

    @tf.function(input_signature=[X_SPEC])
    def replicated(x):
        per_replica = strategy.run(m.apply, args=(x,))
        return {"y": strategy.experimental_local_results(per_replica)[0]}

    m.serve = serve
    m.replicated = replicated
    with strategy.scope():
        y = np_outputs(serve(tf.constant(x)))
        yr = np_outputs(replicated(tf.constant(x)))
        opts = tf.saved_model.SaveOptions(
            experimental_variable_policy=getattr(tf.saved_model.experimental.VariablePolicy, policy))
        tf.saved_model.save(m, out, signatures={"serving_default": serve, "replicated": replicated},
                            options=opts)
    return {"serving_default": sig_entry({"x": x}, y), "replicated": sig_entry({"x": x}, yr)}


def build_mirrored(name, out, result, policy):
    devices = logical_cpus(2)
    w, b, x = dense_init()
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        m = Dense(w, b)
    sigs = save_replicated(strategy, m, x, out, policy)
    finish(name, out, result, "MirroredStrategy, 2 logical CPUs, %s" % policy,
           "MirroredStrategy", policy, ["tf2", "tf1"], sigs)


def register_policies(build, names):
    """One fixture per SaveOptions variable policy, built by build(..., policy)."""
    for fixture_name, policy in names.items():
        BUILDERS[fixture_name] = functools.partial(build, policy=policy)


register_policies(build_mirrored, {
    "mirrored_none": "NONE",
    "mirrored_save_devices": "SAVE_VARIABLE_DEVICES",
    "mirrored_expand": "EXPAND_DISTRIBUTED_VARIABLES",
})


def build_multiworker(name, out, result, policy):
    # MultiWorkerMirroredStrategy as worker 0 of a one-worker cluster (TF_CONFIG,
    # a real gRPC server on loopback): devices are /job:worker/replica:0/task:0/...
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": ["localhost:%d" % free_port()]},
        "task": {"type": "worker", "index": 0},
    })
    w, b, x = dense_init()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        m = Dense(w, b)
    sigs = save_replicated(strategy, m, x, out, policy)
    finish(name, out, result,
           "MultiWorkerMirroredStrategy, worker 0 of a one-worker gRPC cluster (TF_CONFIG), "
           "signatures plain and under strategy.run, %s" % policy,
           "MultiWorkerMirroredStrategy", policy, ["tf2", "tf1"], sigs)


register_policies(build_multiworker, {
    "multiworker_none": "NONE",
    "multiworker_save_devices": "SAVE_VARIABLE_DEVICES",
})


def build_keras_mirrored(name, out, result, policy):
    devices = logical_cpus(2)
    import tf_keras
    tf_keras.utils.set_random_seed(SEED)
    r = rng()
    xs = r.uniform(-1, 1, size=(32, 3)).astype(np.float32)
    ys = np.stack([xs.sum(1), xs[:, 0] - xs[:, 1], xs[:, 2] * 2, -xs.sum(1)], 1).astype(np.float32)
    x = xs[:2]
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        inp = tf_keras.Input(shape=(3,), name="x")
        h = tf_keras.layers.Dense(8, activation="relu", name="hidden")(inp)
        h = tf_keras.layers.BatchNormalization(name="bn")(h)
        y = tf_keras.layers.Dense(4, name="y")(h)
        model = tf_keras.Model(inp, y, name="mirrored_mlp")
        model.compile(optimizer=tf_keras.optimizers.Adam(0.01), loss="mse")
    model.fit(xs, ys, batch_size=8, epochs=2, shuffle=False, verbose=0)
    with strategy.scope():
        yv = model(tf.constant(x), training=False).numpy()
    opts = tf.saved_model.SaveOptions(
        experimental_variable_policy=getattr(tf.saved_model.experimental.VariablePolicy, policy))
    model.save(out, save_format="tf", options=opts)
    finish(name, out, result,
           "tf_keras Dense+BatchNormalization compiled (Adam) and fit under MirroredStrategy "
           "(2 logical CPUs), model.save(save_format='tf'), %s" % policy,
           "MirroredStrategy", policy, ["tf2", "tf1", "keras"],
           {"serving_default": sig_entry({"x": x}, {"y": yv})})


register_policies(build_keras_mirrored, {
    "keras_mirrored": "NONE",
    "keras_mirrored_expand": "EXPAND_DISTRIBUTED_VARIABLES",
})


def collective_fns(m, group_size, group_key):
    """The collective_fn signatures, with the collectives' group as arguments.

    The saved model uses group_size 2; the same functions with group_size 1
    give what ONE replica computes (see run_collective_members)."""
    from tensorflow.python.ops import collective_ops

    @tf.function(input_signature=[X_SPEC])
    def serve(x):
        h = tf.matmul(x, m.w) + m.b
        # Mean across the group, as a replica's cross-device reduction does.
        r = collective_ops.all_reduce_v2(h, group_size=group_size, group_key=group_key,
                                         instance_key=1, merge_op="Add", final_op="Div")
        return {"y": tf.nn.relu(r)}

    @tf.function(input_signature=[X_SPEC])
    def gather(x):
        g = collective_ops.all_gather_v2(tf.matmul(x, m.w), group_size=group_size,
                                         group_key=group_key, instance_key=2)
        return {"g": g}

    return {"serving_default": serve, "gather": gather}


def run_collective_members(fns, devices, x):
    """Calls every signature function on each device at once (one thread per
    group member, as the members of a collective group run) and returns the
    outputs of the member on devices[0], per signature."""
    results = {}

    def member(dev, key, fn):
        with tf.device(dev):
            results[(key, dev)] = np_outputs(fn(tf.constant(x)))

    for key, fn in fns.items():
        threads = [threading.Thread(target=member, args=(d, key, fn)) for d in devices]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
            if t.is_alive():
                raise SystemExit("collective %s did not complete" % key)
    return {key: results[(key, devices[0])] for key in fns}


@builder("collective_fn")
def build_collective_fn(name, out, result):
    logical_cpus(2)
    w, b, x = dense_init()
    m = Dense(w, b)
    fns = collective_fns(m, group_size=2, group_key=1)
    m.serve = fns["serving_default"]
    m.gather = fns["gather"]
    # The group has two members: call each signature on CPU:0 and CPU:1 at once.
    outs = run_collective_members(fns, ("/cpu:0", "/cpu:1"), x)
    tf.saved_model.save(m, out, signatures=fns)
    # What one replica computes: the same functions with a group of one member
    # (its own group key: key 1 is registered with size 2 in this process),
    # traced after saving so the saved functions are exactly as before.
    one = run_collective_members(collective_fns(m, group_size=1, group_key=2), ("/cpu:0",), x)
    finish(name, out, result,
           "tf.function with CollectiveReduceV2 (mean) and CollectiveGatherV2, group_size 2, "
           "reachable from signatures; outputs from a 2-member run on 2 logical CPUs",
           "", "", ["tf2", "tf1"],
           {k: sig_entry({"x": x}, outs[k], one_replica=one[k]) for k in fns})


@builder("sharded_variable")
def build_sharded_variable(name, out, result):
    from tensorflow.python.distribute import sharded_variable
    r = rng()
    table = r.uniform(-1, 1, size=(6, 4)).astype(np.float32)
    ids = np.array([0, 5, 2, 3], dtype=np.int32)
    m = tf.Module()
    parts = [tf.Variable(table[0:3], name="embedding/part_0"),
             tf.Variable(table[3:6], name="embedding/part_1")]
    m.embedding = sharded_variable.ShardedVariable(parts, name="embedding")

    @tf.function(input_signature=[tf.TensorSpec([4], tf.int32, name="ids")])
    def serve(ids):
        return {"rows": tf.nn.embedding_lookup(m.embedding, ids)}

    m.serve = serve
    rows = np_outputs(serve(tf.constant(ids)))
    tf.saved_model.save(m, out, signatures={"serving_default": serve})
    finish(name, out, result,
           "ParameterServerStrategy-style ShardedVariable (2 parts of a [6,4] embedding) "
           "read by embedding_lookup in a signature",
           "ParameterServerStrategy", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"ids": ids}, rows)})


def ps_cluster_strategy(partitioner=None):
    # ParameterServerStrategy on a real in-process gRPC cluster (loopback): this
    # process is the chief/coordinator; one worker and two parameter servers.
    worker_config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=4)
    spec = {
        "worker": ["localhost:%d" % free_port()],
        "ps": ["localhost:%d" % free_port(), "localhost:%d" % free_port()],
        "chief": ["localhost:%d" % free_port()],
    }
    cluster = tf.train.ClusterSpec(spec)
    servers = [tf.distribute.Server(cluster, job_name="worker", task_index=0, config=worker_config,
                                    start=True)]
    servers += [tf.distribute.Server(cluster, job_name="ps", task_index=i, start=True) for i in range(2)]
    LIVE_SERVERS.extend(servers)  # in-process servers live as long as the process
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(cluster, rpc_layer="grpc")
    return tf.distribute.experimental.ParameterServerStrategy(
        resolver, variable_partitioner=partitioner or tf.distribute.experimental.partitioners.FixedShardsPartitioner(2))


def build_ps_strategy(name, out, result, policy):
    strategy = ps_cluster_strategy()
    r = rng()
    table = r.uniform(-1, 1, size=(6, 4)).astype(np.float32)
    w, b, _ = dense_init()
    ids = np.array([0, 5, 2, 3], dtype=np.int32)
    with strategy.scope():
        m = tf.Module()
        m.embedding = tf.Variable(table, name="embedding")
        m.w = tf.Variable(np.concatenate([w, w[:1]], 0), name="dense/kernel")  # [4,4]
        m.b = tf.Variable(b, name="dense/bias")

    @tf.function(input_signature=[tf.TensorSpec([4], tf.int32, name="ids")])
    def serve(ids):
        rows = tf.nn.embedding_lookup(m.embedding, ids)
        return {"y": tf.nn.relu(tf.matmul(rows, m.w) + m.b)}

    m.serve = serve
    y = np_outputs(serve(tf.constant(ids)))
    opts = tf.saved_model.SaveOptions(
        experimental_variable_policy=getattr(tf.saved_model.experimental.VariablePolicy, policy))
    tf.saved_model.save(m, out, signatures={"serving_default": serve}, options=opts)
    finish(name, out, result,
           "ParameterServerStrategy (in-process gRPC cluster: chief, 1 worker, 2 ps) with "
           "FixedShardsPartitioner(2): ShardedVariables on /job:ps/task:0..1, tf.saved_model.save "
           "from the coordinator, %s" % policy,
           "ParameterServerStrategy", policy, ["tf2", "tf1"],
           {"serving_default": sig_entry({"ids": ids}, y)})


register_policies(build_ps_strategy, {
    "ps_strategy": "NONE",
    "ps_strategy_save_devices": "SAVE_VARIABLE_DEVICES",
})


@builder("keras_ps_strategy")
def build_keras_ps_strategy(name, out, result):
    # A tf_keras model built under ParameterServerStrategy with a partitioner
    # (its Embedding and Dense kernels become ShardedVariables on the ps tasks).
    import tf_keras
    strategy = ps_cluster_strategy()
    tf_keras.utils.set_random_seed(SEED)
    ids = np.array([[0, 5], [2, 3]], dtype=np.int32)
    with strategy.scope():
        inp = tf_keras.Input(shape=(2,), dtype="int32", name="ids")
        e = tf_keras.layers.Embedding(6, 4, name="embedding")(inp)
        h = tf_keras.layers.Flatten(name="flatten")(e)
        y = tf_keras.layers.Dense(3, name="y")(h)
        model = tf_keras.Model(inp, y, name="ps_embedding")
    yv = model(tf.constant(ids)).numpy()
    model.save(out, save_format="tf")
    finish(name, out, result,
           "tf_keras Embedding+Dense built under ParameterServerStrategy (in-process gRPC cluster, "
           "FixedShardsPartitioner(2)), model.save(save_format='tf') from the coordinator",
           "ParameterServerStrategy", "NONE", ["tf2", "tf1", "keras"],
           {"serving_default": sig_entry({"ids": ids}, {"y": yv})})


@builder("assets_strings")
def build_assets_strings(name, out, result):
    import tempfile
    vocab = os.path.join(tempfile.mkdtemp(prefix="unmirror-asset-"), "vocab.txt")
    with open(vocab, "w") as f:
        f.write("alpha\nbeta\ngamma\ndelta\n")
    m = tf.Module()
    m.vocab = tf.saved_model.Asset(vocab)
    init = tf.lookup.TextFileInitializer(
        m.vocab, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
        tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
    m.table = tf.lookup.StaticHashTable(init, default_value=-1)
    m.labels = tf.Variable(["first", "second", "third", "fourth", "unknown"], name="labels")

    @tf.function(input_signature=[tf.TensorSpec([3], tf.string, name="tokens")])
    def serve(tokens):
        ids = m.table.lookup(tokens)
        idx = tf.where(ids < 0, tf.constant(4, tf.int64), ids)
        return {"ids": ids, "labels": tf.gather(m.labels, idx)}

    m.serve = serve
    tokens = np.array([b"gamma", b"omega", b"alpha"], dtype=object)
    outs = np_outputs(serve(tf.constant(tokens)))
    tf.saved_model.save(m, out, signatures={"serving_default": serve})
    finish(name, out, result,
           "asset vocabulary file (StaticHashTable from TextFileInitializer) and a DT_STRING variable",
           "", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"tokens": tokens}, outs)})


@builder("tpu_leftover")
def build_tpu_leftover(name, out, result):
    w, b, x = dense_init()
    m = Dense(w, b)
    m.serve = tf.function(lambda x: {"y": m.apply(x)}, input_signature=[X_SPEC])

    @tf.function(input_signature=[X_SPEC, X_SPEC])
    def tpu_step(x0, x1):
        # The shape of a TPU-replicated step: metadata, replicated inputs and outputs.
        # It is traced (saved) and never run: these ops have no CPU kernels.
        tf.raw_ops.TPUReplicateMetadata(num_replicas=2)
        xin = tf.raw_ops.TPUReplicatedInput(inputs=[x0, x1])
        y = m.apply(xin)
        o0, o1 = tf.raw_ops.TPUReplicatedOutput(input=y, num_replicas=2)
        return o0, o1

    m.tpu_step = tpu_step
    tpu_step.get_concrete_function()
    y = np_outputs(m.serve(tf.constant(x)))
    tf.saved_model.save(m, out, signatures={"serving_default": m.serve})
    finish(name, out, result,
           "saved tf.function (not a signature) holding TPUReplicateMetadata/TPUReplicatedInput/"
           "TPUReplicatedOutput, never run; the signature is plain",
           "TPUStrategy", "", ["tf2", "tf1"], {"serving_default": sig_entry({"x": x}, y)})


# ---------------------------------------------------------------- TF1 fixtures

def tf1_mode():
    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.disable_resource_variables()
    tf.compat.v1.disable_v2_tensorshape()


def tf1_export(sess, out, inputs, outputs, saver=None):
    builder_ = tf.compat.v1.saved_model.Builder(out)
    sig = tf.compat.v1.saved_model.predict_signature_def(inputs, outputs)
    builder_.add_meta_graph_and_variables(
        sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
        signature_def_map={"serving_default": sig},
        clear_devices=False, strip_default_attrs=True, saver=saver)
    builder_.save()


def run_gpu_graph_and_export(g, out, x_ph, x, y):
    """Initialises a GPU-pinned TF1 graph, computes y for x, exports serving_default.

    No GPU here: soft placement runs the GPU-pinned ops on the CPU, and
    place_pruned_graph places only what each run needs, so the NCCL training ops
    (GPU-only kernels) stay in the graph but are never placed.
    """
    config = tf.compat.v1.ConfigProto(
        allow_soft_placement=True,
        graph_options=tf.compat.v1.GraphOptions(place_pruned_graph=True))
    with tf.compat.v1.Session(graph=g, config=config) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        yv = sess.run(y, {x_ph: x})
        tf1_export(sess, out, {"x": x_ph}, {"y": y})
    return yv


def build_tf1_towers(name, out, result, pbtxt=False):
    from tensorflow.python.ops import nccl_ops
    tf1_mode()
    w0, b0, x = dense_init()
    r = rng()
    xs = r.uniform(-1, 1, size=(4, 3)).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(SEED)
        x_ph = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        labels = tf.compat.v1.placeholder(tf.float32, [None, 4], name="labels")
        x_parts = tf.split(x_ph, 2)
        l_parts = tf.split(labels, 2)
        towers = []
        for i in range(2):
            with tf.device("/device:GPU:%d" % i), tf.compat.v1.name_scope("tower_%d" % i):
                prefix = "" if i == 0 else "tower_%d/" % i
                w = tf.compat.v1.get_variable(prefix + "w", initializer=tf.constant(w0))
                b = tf.compat.v1.get_variable(prefix + "b", initializer=tf.constant(b0))
                y = tf.nn.relu(tf.matmul(x_parts[i], w) + b, name="y")
                loss = tf.reduce_mean(tf.square(y - l_parts[i]))
                grads = tf.gradients(loss, [w, b])
                towers.append((w, b, y, grads))
        # Serving path: tower 0 on the whole batch.
        with tf.device("/device:GPU:0"), tf.compat.v1.name_scope("serving"):
            y_serve = tf.nn.relu(tf.matmul(x_ph, towers[0][0]) + towers[0][1], name="y")
        # Training path: NCCL all-reduce of each gradient across the two GPUs.
        updates = []
        for k in range(2):
            summed = nccl_ops.all_sum([towers[0][3][k], towers[1][3][k]])
            for i in range(2):
                with tf.device("/device:GPU:%d" % i):
                    updates.append(tf.compat.v1.assign_sub(towers[i][k], 0.05 * summed[i] / 2.0))
        tf.group(*updates, name="train_op")
        yv = run_gpu_graph_and_export(g, out, x_ph, x, y_serve)
    if pbtxt:
        to_pbtxt(out)
    finish(name, out, result,
           "TF1 graph: two GPU towers (variables w, b and tower_1/w, tower_1/b on /device:GPU:0 and "
           ":1), NcclAllReduce of gradients (nccl_ops.all_sum), SavedModelBuilder, serving on "
           "tower 0" + (", saved_model.pbtxt" if pbtxt else ""),
           "TF1 multi-GPU towers", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"x": x}, {"y": yv})},
           fmt="pbtxt" if pbtxt else "pb")


BUILDERS["tf1_towers"] = build_tf1_towers
BUILDERS["tf1_towers_pbtxt"] = functools.partial(build_tf1_towers, pbtxt=True)


@builder("tf1_towers_partitioned")
def build_tf1_towers_partitioned(name, out, result):
    # Four TF1 towers on /device:GPU:0..3 sharing partitioned variables (one
    # set, reused by every tower): w [6,4] in 2 parts on GPU:0, b [4] in 2
    # parts on GPU:1. The builder's sharded Saver writes one data shard per
    # device, and MergeBundles gives b's sliced full-tensor entry shard_id 1.
    tf1_mode()
    r = rng()
    x = r.uniform(-1, 1, size=(4, 6)).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(SEED)
        x_ph = tf.compat.v1.placeholder(tf.float32, [None, 6], name="x")
        parts = tf.split(x_ph, 4)
        grads, ys = [], []
        for i in range(4):
            with tf.device("/device:GPU:%d" % i), \
                    tf.compat.v1.variable_scope("model", reuse=i > 0), \
                    tf.compat.v1.name_scope("tower_%d" % i):
                w = tf.compat.v1.get_variable(
                    "w", shape=[6, 4], initializer=tf.compat.v1.glorot_uniform_initializer(seed=SEED),
                    partitioner=tf.compat.v1.fixed_size_partitioner(2))
                with tf.device("/device:GPU:1"):
                    b = tf.compat.v1.get_variable(
                        "b", shape=[4], initializer=tf.compat.v1.constant_initializer(0.5),
                        partitioner=tf.compat.v1.fixed_size_partitioner(2))
                y = tf.matmul(parts[i], w) + tf.concat(list(b), 0)
                ys.append(y)
                grads.append(tf.gradients(tf.reduce_sum(y), list(w) + list(b)))
        with tf.device("/device:GPU:0"):
            y_serve = tf.identity(tf.concat(ys, 0), name="y")
        avg = [tf.add_n([gr[k] for gr in grads]) / 4.0 for k in range(4)]
        train = tf.compat.v1.train.GradientDescentOptimizer(0.1).apply_gradients(
            zip(avg, list(w) + list(b)), name="train_op")
        config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
        with tf.compat.v1.Session(graph=g, config=config) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train, {x_ph: x})
            yv = sess.run(y_serve, {x_ph: x})
            tf1_export(sess, out, {"x": x_ph}, {"y": y_serve})
    finish(name, out, result,
           "TF1 graph: four towers on /device:GPU:0..3 sharing partitioned variables (w [6,4] in 2 "
           "parts on GPU:0, b [4] in 2 parts on GPU:1), one SGD step, SavedModelBuilder (sharded "
           "Saver: one data shard per device), serving on all towers",
           "TF1 multi-GPU towers, partitioned variables", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"x": x}, {"y": yv})})


@builder("tf1_mirrored_nccl")
def build_tf1_mirrored_nccl(name, out, result):
    # The real tf.distribute.MirroredStrategy in TF1 graph mode over two GPUs with
    # NCCL all-reduce: variables w, w/replica_1 (VarHandleOps on GPU:0 and GPU:1).
    tf.compat.v1.disable_eager_execution()
    w0, b0, x = dense_init()
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(SEED)
        strategy = tf.distribute.MirroredStrategy(
            ["/gpu:0", "/gpu:1"], cross_device_ops=tf.distribute.NcclAllReduce())
        with strategy.scope():
            x_ph = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
            labels = tf.compat.v1.placeholder(tf.float32, [None, 4], name="labels")
            w = tf.compat.v1.get_variable("dense/kernel", initializer=tf.constant(w0))
            b = tf.compat.v1.get_variable("dense/bias", initializer=tf.constant(b0))
            opt = tf.compat.v1.train.GradientDescentOptimizer(0.05)

            def step(xx, yy):
                loss = tf.reduce_mean(tf.square(tf.nn.relu(tf.matmul(xx, w) + b) - yy))
                return opt.minimize(loss)

            train = strategy.extended.call_for_each_replica(step, args=(x_ph, labels))
            tf.group(strategy.experimental_local_results(train), name="train_op")
            y = tf.nn.relu(tf.matmul(x_ph, w) + b, name="y")
        yv = run_gpu_graph_and_export(g, out, x_ph, x, y)
    finish(name, out, result,
           "TF1 graph mode tf.distribute.MirroredStrategy(['/gpu:0','/gpu:1'], "
           "cross_device_ops=NcclAllReduce()): replica variables on both GPUs, NCCL gradient "
           "all-reduce (not run here: no GPU), SavedModelBuilder, serving in cross-replica context",
           "MirroredStrategy (TF1 graph)", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"x": x}, {"y": yv})})


@builder("tf1_gpu_table")
def build_tf1_gpu_table(name, out, result):
    # A model exported from a GPU box with everything under tf.device("/device:GPU:0"),
    # including a CPU-only lookup table (as in triton-inference-server#3344).
    tf1_mode()
    r = rng()
    emb0 = r.uniform(-1, 1, size=(4, 2)).astype(np.float32)
    tokens = np.array([b"beta", b"zeta", b"alpha"], dtype=object)
    g = tf.Graph()
    with g.as_default(), tf.device("/device:GPU:0"):
        tok = tf.compat.v1.placeholder(tf.string, [3], name="tokens")
        init = tf.lookup.KeyValueTensorInitializer(
            tf.constant(["alpha", "beta", "gamma"]), tf.constant([0, 1, 2], tf.int64))
        table = tf.compat.v1.lookup.StaticHashTable(init, default_value=-1)
        ids = table.lookup(tok)
        emb = tf.compat.v1.get_variable("embedding", initializer=tf.constant(emb0))
        rows = tf.gather(emb, ids + 1, name="rows")
        config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
        with tf.compat.v1.Session(graph=g, config=config) as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
            idv, rowv = sess.run([ids, rows], {tok: tokens})
            builder_ = tf.compat.v1.saved_model.Builder(out)
            sig = tf.compat.v1.saved_model.predict_signature_def({"tokens": tok}, {"ids": ids, "rows": rows})
            builder_.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map={"serving_default": sig},
                main_op=tf.compat.v1.tables_initializer(), clear_devices=False, strip_default_attrs=True)
            builder_.save()
    finish(name, out, result,
           "TF1 graph built under tf.device('/device:GPU:0') including a HashTable lookup "
           "(CPU-only kernels) and its initializer as main_op, SavedModelBuilder",
           "", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"tokens": tokens}, {"ids": idv, "rows": rowv})})


@builder("tf1_ps_worker")
def build_tf1_ps_worker(name, out, result):
    tf1_mode()
    w0, b0, x = dense_init()
    r = rng()
    xs = r.uniform(-1, 1, size=(8, 3)).astype(np.float32)
    ys = r.uniform(-1, 1, size=(8, 2)).astype(np.float32)
    w1 = r.uniform(-1, 1, size=(4, 2)).astype(np.float32)
    # A real in-process cluster on loopback: one worker, two parameter servers.
    cluster = tf.train.ClusterSpec({
        "worker": ["localhost:%d" % free_port()],
        "ps": ["localhost:%d" % free_port(), "localhost:%d" % free_port()],
    })
    servers = [tf.distribute.Server(cluster, job_name="worker", task_index=0, start=True)]
    servers += [tf.distribute.Server(cluster, job_name="ps", task_index=i, start=True) for i in range(2)]
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(SEED)
        setter = tf.compat.v1.train.replica_device_setter(
            ps_tasks=2, worker_device="/job:worker/task:0", cluster=cluster)
        with tf.compat.v1.device(setter):
            x_ph = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
            y_ph = tf.compat.v1.placeholder(tf.float32, [None, 2], name="labels")
            step = tf.compat.v1.train.get_or_create_global_step()
            with tf.compat.v1.variable_scope("dense"):
                w = tf.compat.v1.get_variable("kernel", initializer=tf.constant(w0))
                b = tf.compat.v1.get_variable("bias", initializer=tf.constant(b0))
            with tf.compat.v1.variable_scope("out"):
                v = tf.compat.v1.get_variable("kernel", initializer=tf.constant(w1))
            h = tf.nn.relu(tf.matmul(x_ph, w) + b)
            y = tf.identity(tf.matmul(h, v), name="y")
            loss = tf.reduce_mean(tf.square(y - y_ph))
            train_op = tf.compat.v1.train.AdamOptimizer(0.01).minimize(loss, global_step=step)
        saver = tf.compat.v1.train.Saver(sharded=True)
        with tf.compat.v1.Session(servers[0].target, graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for _ in range(3):
                sess.run(train_op, {x_ph: xs, y_ph: ys})
            yv = sess.run(y, {x_ph: x})
            tf1_export(sess, out, {"x": x_ph}, {"y": y}, saver=saver)
    finish(name, out, result,
           "TF1 between-graph parameter-server training on an in-process gRPC cluster "
           "(/job:worker/task:0, /job:ps/task:0..1, replica_device_setter), Adam, "
           "Saver(sharded=True) passed to SavedModelBuilder",
           "ParameterServer (TF1)", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"x": x}, {"y": yv})})

# ------------------------------------------------------- checkpoint layouts
# SavedModels whose checkpoints hold sliced tensors outside shard 0, the way
# TensorFlow's sharded saves and their merge (MergeV2Checkpoints) write them
# (issue 14). testdata/tf/layouts.py writes the wider checkpoint-only matrix.

def layout_dense(r):
    """Weights of the layout models: a [24,6] embedding, a [6,3] kernel and a
    [30] vector that fills the first shard (so that the embedding's slices
    and its merged full-tensor entry lie in shards >= 1)."""
    return (r.uniform(-1, 1, size=(24, 6)).astype(np.float32),
            r.uniform(-1, 1, size=(6, 3)).astype(np.float32),
            r.uniform(-1, 1, size=(30,)).astype(np.float32),
            np.array([0, 7, 13, 23], dtype=np.int32))


def save_layout_tf2(name, out, result, callback, scenario, strategy=None):
    r = rng()
    table, w, fill, ids = layout_dense(r)
    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope:
        m = tf.Module()
        m.fill = tf.Variable(fill, name="fill")
        m.embedding = tf.Variable(table, name="embedding")
        m.w = tf.Variable(w, name="dense/kernel")

    @tf.function(input_signature=[tf.TensorSpec([4], tf.int32, name="ids")])
    def serve(ids):
        rows = tf.nn.embedding_lookup(m.embedding, ids)
        return {"y": tf.matmul(rows, m.w) + tf.reduce_sum(m.fill)}

    m.serve = serve
    y = np_outputs(serve(tf.constant(ids)))
    tf.saved_model.save(m, out, signatures={"serving_default": serve},
                        options=tf.saved_model.SaveOptions(experimental_sharding_callback=callback))
    finish(name, out, result, scenario, "ParameterServerStrategy" if strategy else "", "",
           ["tf2", "tf1"], {"serving_default": sig_entry({"ids": ids}, y)})


@builder("layout_max_shard")
def build_layout_max_shard(name, out, result):
    save_layout_tf2(name, out, result, tf.train.experimental.MaxShardSizePolicy(max_shard_size=40),
                    "tf.saved_model.save with SaveOptions(experimental_sharding_callback="
                    "MaxShardSizePolicy(max_shard_size=40)): a [24,6] embedding sliced along both "
                    "axes across many shards, none of them shard 0")


@builder("layout_callback")
def build_layout_callback(name, out, result):
    from tensorflow.python.checkpoint.sharding import sharding_util

    class SplitEmbedding(sharding_util.ShardingCallback):
        """A user-written callback: the [24,6] tensor goes to shards 1 and 2 in
        column slices 0:2 and 2:6, everything else to shard 0."""

        @property
        def description(self):
            return "embedding columns 0:2 and 2:6 in shards 1 and 2"

        def __call__(self, shardable_tensors):
            shards = [{}, {}, {}]
            for st in shardable_tensors:
                if st.tensor.shape.as_list() == [24, 6]:
                    for i, (start, length) in enumerate([(0, 2), (2, 4)]):
                        shards[i + 1].setdefault(st.checkpoint_key, {})[
                            "24 6 0,24:%d,%d" % (start, length)] = tf.slice(st.tensor, [0, start], [24, length])
                else:
                    shards[0].setdefault(st.checkpoint_key, {})[st.slice_spec] = st.tensor
            return shards

    save_layout_tf2(name, out, result, SplitEmbedding(),
                    "tf.saved_model.save with a user-written ShardingCallback: the [24,6] "
                    "embedding in column slices 0:2 (shard 1) and 2:6 (shard 2)")


@builder("layout_ps_max_shard")
def build_layout_ps_max_shard(name, out, result):
    strategy = ps_cluster_strategy(tf.distribute.experimental.partitioners.MaxSizePartitioner(
        max_shard_bytes=200))
    save_layout_tf2(name, out, result, tf.train.experimental.MaxShardSizePolicy(max_shard_size=100),
                    "ParameterServerStrategy (in-process cluster, 2 ps) with MaxSizePartitioner("
                    "200 B): ShardedVariables, tf.saved_model.save with MaxShardSizePolicy(100)",
                    strategy=strategy)


@builder("layout_ps_by_task")
def build_layout_ps_by_task(name, out, result):
    strategy = ps_cluster_strategy(tf.distribute.experimental.partitioners.FixedShardsPartitioner(2))
    save_layout_tf2(name, out, result, tf.train.experimental.ShardByTaskPolicy(),
                    "ParameterServerStrategy (in-process cluster, 2 ps) with FixedShardsPartitioner(2), "
                    "tf.saved_model.save with ShardByTaskPolicy: one data shard per ps task, each "
                    "holding its ShardedVariable parts as slices",
                    strategy=strategy)


def build_layout_tf1_saver(name, out, result, devices, partitioner, doc):
    tf1_mode()
    r = rng()
    table, w0, fill, ids = layout_dense(r)
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(SEED)
        placed = [0]

        def round_robin(op):
            # Partitions (and their Adam slots) round-robin on the CPUs.
            if op.type in ("VariableV2", "VarHandleOp"):
                placed[0] += 1
                return "/device:CPU:%d" % ((placed[0] - 1) % devices)
            return op.device

        ids_ph = tf.compat.v1.placeholder(tf.int32, [4], name="ids")
        with g.device(round_robin):
            emb = tf.compat.v1.get_variable("embedding", initializer=tf.constant(table),
                                            partitioner=partitioner)
            w = tf.compat.v1.get_variable("dense/kernel", initializer=tf.constant(w0),
                                          partitioner=partitioner)
            f = tf.compat.v1.get_variable("fill", initializer=tf.constant(fill))
        y = tf.identity(tf.matmul(tf.nn.embedding_lookup(emb, ids_ph), w) + tf.reduce_sum(f), name="y")
        loss = tf.reduce_sum(tf.square(y))
        train = tf.compat.v1.train.AdamOptimizer(0.01).minimize(loss)
        saver = tf.compat.v1.train.Saver(sharded=True)
        config = tf.compat.v1.ConfigProto(device_count={"CPU": devices})
        with tf.compat.v1.Session(graph=g, config=config) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train, {ids_ph: ids})
            yv = sess.run(y, {ids_ph: ids})
            tf1_export(sess, out, {"ids": ids_ph}, {"y": y}, saver=saver)
    finish(name, out, result,
           "TF1 graph, partitioned variables (%s) round-robin on %d CPUs with Adam slots, "
           "Saver(sharded=True) passed to SavedModelBuilder" % (doc, devices),
           "TF1 partitioned variables", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"ids": ids}, {"y": yv})})


BUILDERS["layout_tf1_fixed_2"] = lambda name, out, result: build_layout_tf1_saver(
    name, out, result, 2, tf.compat.v1.fixed_size_partitioner(2), "fixed_size_partitioner(2)")
BUILDERS["layout_tf1_minmax_4"] = lambda name, out, result: build_layout_tf1_saver(
    name, out, result, 4, tf.compat.v1.min_max_variable_partitioner(max_partitions=4, min_slice_size=64),
    "min_max_variable_partitioner(max_partitions=4, min_slice_size=64)")


@builder("layout_tf1_nocopy")
def build_layout_tf1_nocopy(name, out, result):
    # TF1 partitioned variables of dtypes whose slices TensorFlow's
    # GetSliceValue cannot copy (DT_STRING, DT_UINT16): each part restores
    # its own stored slice as it is, which works; a rewrite that assembled
    # them into one whole entry would make every part restore a copy out of
    # it ("Dtype string not supported"), so the slices must stay.
    tf1_mode()
    words = np.array([b"zero", b"", b"two", b"L" * 300, b"four", b"five", b"six", b"seven"], dtype=object)
    codes = (np.arange(24, dtype=np.uint16) * 7).reshape(6, 4)
    ids = np.array([3, 5], dtype=np.int32)
    g = tf.Graph()
    with g.as_default():
        placed = [0]

        def round_robin(op):
            if op.type in ("VariableV2", "VarHandleOp"):
                placed[0] += 1
                return "/device:CPU:%d" % ((placed[0] - 1) % 2)
            return op.device

        ids_ph = tf.compat.v1.placeholder(tf.int32, [2], name="ids")
        part = tf.compat.v1.fixed_size_partitioner(2)
        with g.device(round_robin):
            vocab = tf.compat.v1.get_variable("vocab", initializer=tf.constant(words), partitioner=part)
            table = tf.compat.v1.get_variable("codes", initializer=tf.constant(codes), partitioner=part)
        word = tf.identity(tf.gather(tf.concat(list(vocab), 0), ids_ph), name="word")
        # (CPU has no uint16 GatherV2 kernel: cast each part first.)
        code = tf.identity(tf.gather(tf.concat([tf.cast(p, tf.int32) for p in table], 0), ids_ph), name="code")
        saver = tf.compat.v1.train.Saver(sharded=True)
        config = tf.compat.v1.ConfigProto(device_count={"CPU": 2})
        with tf.compat.v1.Session(graph=g, config=config) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            wv, cv = sess.run([word, code], {ids_ph: ids})
            tf1_export(sess, out, {"ids": ids_ph}, {"word": word, "code": code}, saver=saver)
    finish(name, out, result,
           "TF1 graph, partitioned DT_STRING [8] and DT_UINT16 [6,4] variables "
           "(fixed_size_partitioner(2)) round-robin on 2 CPUs, Saver(sharded=True) passed to "
           "SavedModelBuilder: slices TensorFlow restores as stored but cannot copy",
           "TF1 partitioned variables", "", ["tf2", "tf1"],
           {"serving_default": sig_entry({"ids": ids}, {"word": wv, "code": cv})})


@builder("layout_dtypes")
def build_layout_dtypes(name, out, result):
    # Every dtype a checkpoint holds, as [6,4] variables (sliced by the
    # policy where they exceed 64 bytes) and scalar strings (empty, over 64
    # KiB). TF 2.18's MaxShardSizePolicy fails on a string tensor of more
    # than one element, and leaves 0-element tensors out of the checkpoint
    # (the SavedModel then fails to load: "Key ... not found in checkpoint"),
    # so those are in testdata/layouts/tf2_strings (no policy) instead. The
    # signature reads each variable.
    r = rng()
    m = tf.Module()
    m.vars = {}
    for dt in ["float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64",
               "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]:
        d = tf.as_dtype(dt)
        if d == tf.bool:
            v = r.randint(0, 2, size=(6, 4)) == 1
        elif d.is_complex:
            v = (r.uniform(-4, 4, (6, 4)) + 1j * r.uniform(-4, 4, (6, 4))).astype(d.as_numpy_dtype)
        elif d.is_floating:
            v = tf.cast(r.uniform(-4, 4, (6, 4)), d).numpy()
        else:
            v = r.randint(0, 100, size=(6, 4)).astype(d.as_numpy_dtype)
        m.vars[dt] = tf.Variable(v, name=dt)
    m.vars["empty_string"] = tf.Variable(b"", name="empty_string")
    m.vars["big_string"] = tf.Variable(b"L" * 70000 + b"!", name="big_string")

    @tf.function(input_signature=[tf.TensorSpec([], tf.float64, name="x")])
    def serve(x):
        out = {}
        for k, v in m.vars.items():
            if v.dtype == tf.string:
                out[k] = tf.strings.length(v)
            elif v.dtype.is_complex:
                out[k] = tf.cast(tf.math.real(v), tf.float64) * x
            elif v.dtype == tf.bool:
                out[k] = tf.cast(v, tf.int32)
            else:
                out[k] = tf.cast(v, tf.float64) * x
        return out

    m.serve = serve
    x = np.float64(1.5)
    y = np_outputs(serve(tf.constant(x)))
    tf.saved_model.save(m, out, signatures={"serving_default": serve},
                        options=tf.saved_model.SaveOptions(
                            experimental_sharding_callback=tf.train.experimental.MaxShardSizePolicy(
                                max_shard_size=64)))
    finish(name, out, result,
           "tf.saved_model.save with MaxShardSizePolicy(64): variables of every dtype a checkpoint "
           "holds (float16/32/64, bfloat16, int8..64, uint8..64, bool, complex64/128) sliced across "
           "shards, scalar strings (empty, over 64 KiB)",
           "", "", ["tf2", "tf1"], {"serving_default": sig_entry({"x": x}, y)})



def main():
    name, out, result = sys.argv[1:4]
    if name not in BUILDERS:
        raise SystemExit("unknown fixture %s" % name)
    if os.path.exists(out):
        shutil.rmtree(out)
    BUILDERS[name](name, out, result)


if __name__ == "__main__":
    main()
