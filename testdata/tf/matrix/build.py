#!/usr/bin/env python3
"""Builds the SavedModel of one matrix cell with the TensorFlow of the running
venv, and records what TensorFlow computed under the strategy.

Usage (run.py calls it in the cell's version's venv, in a fresh process):
    build.py --cell '{"strategy": ..., "policy": ..., ...}' --out DIR --result FILE

FILE gets one JSON object: {"ok": true, "signatures": {KEY: {"inputs": {...},
"outputs": {...}}}, "trained": bool, "tf_version": ..., "keras": ...} with the
outputs the saving process computed (under the strategy, or in the TF1
session that built the graph), or {"ok": false, "error": "..."} when
TensorFlow refused to build or save the combination (recorded in the plan as
an invalid cell with TF's reason). Deterministic: fixed seeds, CPU only.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SEED = 15
BATCH = 4
LIVE = []  # in-process servers live as long as the process


def helpers():
    """tensor_json, free_port and logical_cpus of the corpus generator
    (testdata/tf/fixtures_tf.py; importing it imports TensorFlow)."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import fixtures_tf
    return fixtures_tf


# ------------------------------------------------------------------ families

VOCAB = ["alpha", "beta", "gamma", "delta", "epsilon"]


def family_data(family):
    """(x for the signatures, xs and ys to fit on, input dtype, input shape)."""
    import numpy as np
    r = np.random.RandomState(SEED)
    n = 16
    if family == "conv":
        xs = r.uniform(-1, 1, size=(n, 6, 6, 2)).astype(np.float32)
        shape, dtype = (6, 6, 2), "float32"
    elif family == "embedding_rnn":
        xs = r.randint(0, 16, size=(n, 5)).astype(np.int32)
        shape, dtype = (5,), "int32"
    elif family == "attention":
        xs = r.uniform(-1, 1, size=(n, 4, 6)).astype(np.float32)
        shape, dtype = (4, 6), "float32"
    elif family == "text_lookup":
        words = VOCAB + ["unknown"]
        xs = np.array([" ".join(words[(i + k) % len(words)] for k in range(3)) for i in range(n)], dtype=object)
        shape, dtype = (), "string"
    else:
        xs = r.uniform(-1, 1, size=(n, 6)).astype(np.float32)
        shape, dtype = (6,), "float32"
    ys = r.uniform(-1, 1, size=(n, 4)).astype(np.float32)
    return xs[:BATCH], xs, ys, dtype, shape


def build_model(K, family, keras3):
    """A Keras functional model x -> y [batch, 4] of the family."""
    import tensorflow as tf
    _, _, _, dtype, shape = family_data(family)
    L = K.layers
    if family == "mixed_precision":
        if keras3:
            K.mixed_precision.set_dtype_policy("mixed_float16")
        else:
            K.mixed_precision.set_global_policy("mixed_float16")
    inp = K.Input(shape=shape, dtype=dtype, name="x")
    if family in ("dense_bn_dropout", "mixed_precision"):
        h = L.Dense(8, activation="relu", name="hidden")(inp)
        h = L.BatchNormalization(name="bn")(h)
        h = L.Dropout(0.25, name="dropout")(h)
        y = L.Dense(4, name="y", dtype="float32")(h)
    elif family == "conv":
        h = L.Conv2D(3, 3, activation="relu", name="conv")(inp)
        h = L.BatchNormalization(name="bn")(h)
        h = L.GlobalAveragePooling2D(name="pool")(h)
        y = L.Dense(4, name="y")(h)
    elif family == "embedding_rnn":
        h = L.Embedding(16, 4, name="embedding")(inp)
        h = L.GRU(6, return_sequences=True, name="gru")(h)
        h = L.LSTM(5, name="lstm")(h)
        y = L.Dense(4, name="y")(h)
    elif family == "attention":
        h = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(inp, inp)
        h = L.GlobalAveragePooling1D(name="pool")(h)
        y = L.Dense(4, name="y")(h)
    elif family == "text_lookup":
        h = L.TextVectorization(vocabulary=VOCAB, output_sequence_length=3, name="vectorize")(inp)
        h = L.Embedding(len(VOCAB) + 2, 4, name="embedding")(h)
        h = L.GlobalAveragePooling1D(name="pool")(h)
        y = L.Dense(4, name="y")(h)
    elif family == "nested_cond_while":
        y = NestedLayer(K, name="y")(inp)
    elif family in ("sync_sum", "sync_mean", "sync_first"):
        y = SyncLayer(K, family, keras3, name="y")(inp)
    elif family == "jit":
        y = JitLayer(K, name="y")(inp)
    else:
        raise ValueError(family)
    return K.Model(inp, y, name=family)


def NestedLayer(K, name):
    import tensorflow as tf

    class Nested(K.layers.Layer):
        """tf.cond inside a nested tf.function inside a tf.while_loop."""

        def build(self, input_shape):
            self.dense = K.layers.Dense(4, name="dense")
            self.dense.build(input_shape)

        def call(self, x):
            h = self.dense(x)

            @tf.function
            def inner(h):
                return tf.cond(tf.reduce_sum(h) > 0.0, lambda: h * 0.5, lambda: h - 0.25)

            _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, inner(h)), (tf.constant(0), h))
            return h

    return Nested(name=name)


def SyncLayer(K, family, keras3, name):
    import tensorflow as tf
    agg = {"sync_sum": "SUM", "sync_mean": "MEAN", "sync_first": "ONLY_FIRST_REPLICA"}[family]

    class Sync(K.layers.Layer):
        """A sync-on-read counter (aggregation SUM/MEAN/ONLY_FIRST_REPLICA) that
        training increments in every replica; the output adds it."""

        def build(self, input_shape):
            self.dense = K.layers.Dense(4, name="dense")
            self.dense.build(input_shape)
            if keras3:
                # Keras 3's add_weight takes no synchronization; its Variable does.
                self.count = K.Variable(initializer="zeros", shape=(), trainable=False, name="count",
                                        synchronization="on_read", aggregation=agg.lower())
            else:
                self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False,
                                             synchronization=tf.VariableSynchronization.ON_READ,
                                             aggregation=getattr(tf.VariableAggregation, agg))

        def call(self, x, training=None):
            if training:
                self.count.assign_add(1.0)
            return self.dense(x) + 0.01 * self.count

    return Sync(name=name)


def JitLayer(K, name):
    import tensorflow as tf

    class Jit(K.layers.Layer):
        """Its computation is a tf.function(jit_compile=True)."""

        def build(self, input_shape):
            self.dense = K.layers.Dense(4, name="dense")
            self.dense.build(input_shape)
            self.jitted = tf.function(lambda x: tf.nn.relu(self.dense(x)) - 0.5, jit_compile=True)

        def call(self, x):
            return self.jitted(x)

    return Jit(name=name)


# ---------------------------------------------------------------- strategies

def ps_strategy(tf, kind):
    spec = {
        "worker": ["localhost:%d" % helpers().free_port()],
        "ps": ["localhost:%d" % helpers().free_port(), "localhost:%d" % helpers().free_port()],
        "chief": ["localhost:%d" % helpers().free_port()],
    }
    cluster = tf.train.ClusterSpec(spec)
    cfg = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=4)
    LIVE.append(tf.distribute.Server(cluster, job_name="worker", task_index=0, config=cfg, start=True))
    LIVE.extend(tf.distribute.Server(cluster, job_name="ps", task_index=i, start=True) for i in range(2))
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(cluster, rpc_layer="grpc")
    P = tf.distribute.experimental.partitioners
    part = {
        "ps_fixed": lambda: P.FixedShardsPartitioner(2),
        "ps_minsize": lambda: P.MinSizePartitioner(min_shard_bytes=16, max_shards=2),
        "ps_maxsize": lambda: P.MaxSizePartitioner(max_shard_bytes=64, max_shards=3),
    }[kind]()
    return tf.distribute.experimental.ParameterServerStrategy(resolver, variable_partitioner=part)


def make_strategy(tf, name):
    if name == "none":
        return tf.distribute.get_strategy()
    if name.startswith("mirrored"):
        return tf.distribute.MirroredStrategy(helpers().logical_cpus(int(name[-1])))
    if name == "central_storage":
        cpus = helpers().logical_cpus(2)
        return tf.distribute.experimental.CentralStorageStrategy(cpus, parameter_device="/cpu:0")
    if name == "one_device":
        helpers().logical_cpus(2)
        return tf.distribute.OneDeviceStrategy("/cpu:1")
    if name == "multiworker2":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name.startswith("ps_"):
        return ps_strategy(tf, name)
    raise ValueError(name)


# ------------------------------------------------------------------ TF2 build

def save_options(tf, cell, **kw):
    opts = dict(kw)
    opts["experimental_variable_policy"] = getattr(tf.saved_model.experimental.VariablePolicy, cell["policy"])
    if cell["layout"] == "max_shard_size":
        opts["experimental_sharding_callback"] = tf.train.experimental.MaxShardSizePolicy(max_shard_size=256)
    return tf.saved_model.SaveOptions(**opts)


def build_tf2(cell, out):
    import numpy as np
    import tensorflow as tf
    keras3 = cell["save_api"] in ("keras3_export", "keras3_archive")
    if keras3:
        import keras as K
        if not K.__version__.startswith("3."):
            raise RuntimeError("Keras %s is not Keras 3" % K.__version__)
    else:
        try:
            import tf_keras as K
        except ImportError:
            K = tf.keras  # TF 2.12: tf.keras is Keras 2
    K.utils.set_random_seed(SEED)
    strategy = make_strategy(tf, cell["strategy"])
    x, xs, ys, dtype, shape = family_data(cell["family"])
    with strategy.scope():
        model = build_model(K, cell["family"], keras3)
        model.compile(optimizer=K.optimizers.Adam(0.01), loss="mse")
    trained = not cell["strategy"].startswith("ps_")
    if trained:
        model.fit(xs, ys, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    spec = tf.TensorSpec((None,) + tuple(shape), getattr(tf, dtype), name="x")

    def call(x):
        return model(x, training=False)

    api = cell["save_api"]
    worker = int(os.environ.get("MATRIX_WORKER", "0"))
    target = out if worker == 0 else tempfile.mkdtemp(prefix="matrix-worker-%d-" % worker)
    computed = {}
    if api in ("tf_save", "tf_save_debug_aliases"):
        m = tf.Module()
        m.model = model

        @tf.function(input_signature=[spec])
        def serve(x):
            return {"y": call(x)}

        sigs = {"serving_default": serve}
        kw = {}
        if api == "tf_save_debug_aliases":
            @tf.function(input_signature=[spec])
            def replicated(x):
                per_replica = strategy.run(call, args=(x,))
                return {"y": strategy.experimental_local_results(per_replica)[0]}

            m.replicated = replicated
            sigs["replicated"] = replicated
            kw = {"save_debug_info": True, "function_aliases": {"replicated": replicated}}
        m.serve = serve
        with strategy.scope():
            for k, f in sigs.items():
                computed[k] = {o: v.numpy() for o, v in f(tf.constant(x)).items()}
            tf.saved_model.save(m, target, signatures=sigs, options=save_options(tf, cell, **kw))
    elif api in ("keras_tf", "keras_tf_noopt"):
        with strategy.scope():
            computed["serving_default"] = {"*": call(tf.constant(x)).numpy()}
        model.save(target, save_format="tf", include_optimizer=(api == "keras_tf"),
                   options=save_options(tf, cell))
    elif api == "keras3_export":
        with strategy.scope():
            computed["serving_default"] = {"*": np.asarray(call(tf.constant(x)))}
            model.export(target)
    elif api == "keras3_archive":
        from keras.export import ExportArchive
        with strategy.scope():
            computed["serving_default"] = {"*": np.asarray(call(tf.constant(x)))}
            archive = ExportArchive()
            archive.track(model)
            archive.add_endpoint("serve", call, input_signature=[spec])
            archive.write_out(target, options=save_options(tf, cell))
    else:
        raise ValueError(api)
    return computed, x, trained


# ------------------------------------------------------------------ TF1 build

def build_tf1(cell, out):
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.ops import nccl_ops
    tf.compat.v1.disable_eager_execution()
    try:
        import tf_keras as K
    except ImportError:
        K = tf.keras
    x, xs, ys, dtype, shape = family_data(cell["family"])
    strategy = cell["strategy"]
    g = tf.Graph()
    target = ""
    with g.as_default():
        tf.compat.v1.set_random_seed(SEED)
        x_ph = tf.compat.v1.placeholder(getattr(tf, dtype), (None,) + tuple(shape), name="x")
        y_ph = tf.compat.v1.placeholder(tf.float32, (None, 4), name="labels")
        if strategy.startswith("tf1_towers"):
            n = int(strategy[-1])
            towers = []
            for i in range(n):
                with tf.device("/device:GPU:%d" % i), tf.compat.v1.name_scope("tower_%d" % i):
                    model = build_model(K, cell["family"], False)
                    y = model(x_ph, training=False)
                    loss = tf.reduce_mean(tf.square(model(x_ph, training=True) - y_ph))
                    grads = tf.gradients(loss, model.trainable_weights)
                    towers.append((model, y, grads))
            updates = []
            for k in range(len(towers[0][0].trainable_weights)):
                if any(t[2][k] is None for t in towers):
                    continue
                summed = nccl_ops.all_sum([t[2][k] for t in towers])
                for i, t in enumerate(towers):
                    with tf.device("/device:GPU:%d" % i):
                        updates.append(tf.compat.v1.assign_sub(t[0].trainable_weights[k], 0.01 * summed[i] / n))
            tf.group(*updates, name="train_op")
            y_serve = tf.identity(towers[0][1], name="y")
            copies = [tf.compat.v1.assign(w, w0) for t in towers[1:] for w, w0 in zip(t[0].weights, towers[0][0].weights)]
        elif strategy == "tf1_replica_device_setter":
            cluster = tf.train.ClusterSpec({
                "worker": ["localhost:%d" % helpers().free_port()],
                "ps": ["localhost:%d" % helpers().free_port(), "localhost:%d" % helpers().free_port()],
            })
            LIVE.append(tf.distribute.Server(cluster, job_name="worker", task_index=0, start=True))
            LIVE.extend(tf.distribute.Server(cluster, job_name="ps", task_index=i, start=True) for i in range(2))
            target = LIVE[0].target
            setter = tf.compat.v1.train.replica_device_setter(ps_tasks=2, worker_device="/job:worker/task:0",
                                                             cluster=cluster)
            with tf.compat.v1.device(setter):
                model = build_model(K, cell["family"], False)
                y_serve = tf.identity(model(x_ph, training=False), name="y")
                loss = tf.reduce_mean(tf.square(model(x_ph, training=True) - y_ph))
                tf.compat.v1.train.AdamOptimizer(0.01).minimize(loss, name="train_op")
            copies = []
        else:  # "none": a plain TF1 graph
            model = build_model(K, cell["family"], False)
            y_serve = tf.identity(model(x_ph, training=False), name="y")
            loss = tf.reduce_mean(tf.square(model(x_ph, training=True) - y_ph))
            tf.compat.v1.train.AdamOptimizer(0.01).minimize(loss, name="train_op")
            copies = []
        saver = None
        main_op = None
        if cell["save_api"] == "tf1_builder_saver_main_op":
            saver = tf.compat.v1.train.Saver(sharded=cell["layout"] == "sharded_saver", name="custom_saver")
            main_op = tf.group(tf.compat.v1.tables_initializer(), name="custom_main_op")
        elif cell["layout"] == "sharded_saver":
            saver = tf.compat.v1.train.Saver(sharded=True)
        config = tf.compat.v1.ConfigProto(allow_soft_placement=True,
                                          graph_options=tf.compat.v1.GraphOptions(place_pruned_graph=True))
        with tf.compat.v1.Session(target, graph=g, config=config) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(tf.compat.v1.tables_initializer())
            if copies:
                sess.run(copies)
            yv = sess.run(y_serve, {x_ph: x})
            builder = tf.compat.v1.saved_model.Builder(out)
            sig = tf.compat.v1.saved_model.predict_signature_def({"x": x_ph}, {"y": y_serve})
            builder.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map={"serving_default": sig},
                clear_devices=False, strip_default_attrs=True, saver=saver, main_op=main_op)
            builder.save()
    return {"serving_default": {"y": yv}}, x, False


# ------------------------------------------------------------------ main

def signature_keys(out):
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(out, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    return {k: (sorted(s.inputs), sorted(s.outputs)) for k, s in sm.meta_graphs[0].signature_def.items()
            if not k.startswith("__")}


def build(cell, out):
    import tensorflow as tf
    if cell["save_api"].startswith("tf1_"):
        computed, x, trained = build_tf1(cell, out)
    else:
        computed, x, trained = build_tf2(cell, out)
    if int(os.environ.get("MATRIX_WORKER", "0")) != 0:
        return None
    keys = signature_keys(out)
    sigs = {}
    for k, outs in computed.items():
        if k not in keys:
            raise RuntimeError("the saved model has no signature %s (has %s)" % (k, sorted(keys)))
        ins, onames = keys[k]
        if len(ins) != 1:
            raise RuntimeError("signature %s has inputs %s, want one" % (k, ins))
        if "*" in outs:
            if len(onames) != 1:
                raise RuntimeError("signature %s has outputs %s, want one" % (k, onames))
            outs = {onames[0]: outs["*"]}
        sigs[k] = {"inputs": {ins[0]: helpers().tensor_json(x)}, "outputs": {o: helpers().tensor_json(v) for o, v in outs.items()}}
    try:
        import keras
        kv = keras.__version__
    except Exception:
        kv = ""
    return {"ok": True, "signatures": sigs, "trained": trained, "tf_version": tf.__version__, "keras": kv}


def run_multiworker(cell, out, result):
    """Runs this script as two real worker processes (TF_CONFIG on
    localhost); worker 0 writes the model and the result."""
    ports = [helpers().free_port(), helpers().free_port()]
    procs = []
    for i in range(2):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": ["localhost:%d" % p for p in ports]},
                                       "task": {"type": "worker", "index": i}})
        env["MATRIX_WORKER"] = str(i)
        res = result if i == 0 else result + ".worker1"
        procs.append(subprocess.Popen([sys.executable, __file__, "--cell", json.dumps(cell), "--out", out,
                                       "--result", res], env=env))
    deadline = time.time() + 600
    for p in procs:
        try:
            p.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            with open(result, "w") as f:
                json.dump({"ok": False, "error": "multiworker build timed out after 600s"}, f)
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cell", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--result", required=True)
    args = ap.parse_args()
    cell = json.loads(args.cell)
    if cell["strategy"] == "multiworker2" and "MATRIX_WORKER" not in os.environ:
        run_multiworker(cell, args.out, args.result)
        return
    start = time.time()
    try:
        res = build(cell, args.out)
    except Exception as e:  # TF refused the combination: recorded with its reason
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        # "Graph execution error:" heads TF's real message, "(0) KIND: ...".
        root = [ln for ln in lines if ln.startswith("(0) ")]
        msg = "%s: %s" % (type(e).__name__, root[0][4:] if root else (lines[0] if lines else ""))
        res = {"ok": False, "error": msg[:600], "traceback": traceback.format_exc()[-3000:]}
    if res is not None:
        res["seconds"] = round(time.time() - start, 1)
        with open(args.result, "w") as f:
            json.dump(res, f, indent=1)
    sys.stdout.flush()
    os._exit(0)  # in-process gRPC servers would keep the interpreter alive


if __name__ == "__main__":
    main()
