"""The axes of the model matrix, which value pairs are invalid (and why), and
the seeded pairwise covering array of cells.

Pure Python (no TensorFlow): run.py imports it in any interpreter.

A cell is a dict {axis: value}. A pair of values of two axes is invalid
when a rule below says so; the rule's text is the reason recorded in the
plan. The covering array holds every valid pair at least once, plus the
risky combinations in RISKY; it is built greedily (for each new row, the
value of each axis that covers the most uncovered pairs, ties broken by a
random.Random(seed) permutation), so the same seed gives the same cells.
"""

import itertools
import random

SEED = 15

AXES = [
    ("strategy", [
        "none",
        "mirrored2", "mirrored3", "mirrored4",
        "multiworker2",
        "ps_fixed", "ps_minsize", "ps_maxsize",
        "central_storage",
        "one_device",
        "tf1_towers2", "tf1_towers4",
        "tf1_replica_device_setter",
    ]),
    ("policy", ["NONE", "SAVE_VARIABLE_DEVICES", "EXPAND_DISTRIBUTED_VARIABLES"]),
    ("save_api", [
        "tf_save",                 # tf.saved_model.save, serving signature
        "tf_save_debug_aliases",   # + save_debug_info, function_aliases, a signature traced under strategy.run
        "keras_tf",                # tf_keras model.save(save_format="tf"), with the optimizer
        "keras_tf_noopt",          # the same, include_optimizer=False
        "keras3_export",           # Keras 3 model.export()
        "keras3_archive",          # Keras 3 keras.export.ExportArchive inside the strategy scope
        "tf1_builder",             # TF1 SavedModelBuilder, its default saver
        "tf1_builder_saver_main_op",  # SavedModelBuilder with a custom Saver and a main op
    ]),
    ("family", [
        "dense_bn_dropout", "conv", "embedding_rnn", "attention", "text_lookup",
        "nested_cond_while", "sync_sum", "sync_mean", "sync_first", "mixed_precision", "jit",
    ]),
    ("layout", ["default", "max_shard_size", "sharded_saver"]),
    ("version", ["2.12", "2.15", "2.18", "2.21"]),
]

AXIS_NAMES = [a for a, _ in AXES]
VALUES = dict(AXES)

TF1_STRATEGIES = {"tf1_towers2", "tf1_towers4", "tf1_replica_device_setter"}
PS_STRATEGIES = {"ps_fixed", "ps_minsize", "ps_maxsize"}
TF1_APIS = {"tf1_builder", "tf1_builder_saver_main_op"}
KERAS3_APIS = {"keras3_export", "keras3_archive"}
KERAS_APIS = {"keras_tf", "keras_tf_noopt"} | KERAS3_APIS


def pair_rule(a, va, b, vb):
    """Returns why values va of axis a and vb of axis b cannot be in one cell,
    or None. Symmetric (called with both orders)."""
    if a == "strategy" and b == "save_api":
        if va in TF1_STRATEGIES and vb not in TF1_APIS:
            return ("a TF1 graph strategy (towers, replica_device_setter) builds a Session graph; "
                    "only SavedModelBuilder saves one")
        if va not in TF1_STRATEGIES and va != "none" and vb in TF1_APIS:
            return ("SavedModelBuilder saves a TF1 Session graph; tf.distribute strategies other than "
                    "the TF1 ones are built eagerly")
        if va in PS_STRATEGIES and vb == "tf_save_debug_aliases":
            return ("ParameterServerStrategy.run is only called through ClusterCoordinator.schedule; "
                    "no saved function can be traced under it")
    if a == "save_api" and b == "policy" and vb != "NONE":
        if va in TF1_APIS:
            return "SavedModelBuilder has no variable policy (a tf.saved_model.SaveOptions option)"
        if va == "keras3_export":
            return "Keras 3 model.export() passes no tf.saved_model.SaveOptions"
    if a == "save_api" and b == "layout":
        if vb == "sharded_saver" and va not in TF1_APIS:
            return "only SavedModelBuilder takes a tf.compat.v1.train.Saver (sharded=True)"
        if vb == "max_shard_size" and va in TF1_APIS:
            return "MaxShardSizePolicy is a tf.saved_model.SaveOptions option; SavedModelBuilder has none"
        if vb == "max_shard_size" and va == "keras3_export":
            return "Keras 3 model.export() passes no tf.saved_model.SaveOptions"
    if a == "save_api" and b == "version" and va in KERAS3_APIS and vb in ("2.12", "2.15"):
        return "Keras 3 needs TensorFlow 2.16 or later; TF %s ships Keras 2" % vb
    if a == "layout" and b == "version" and va == "max_shard_size" and vb in ("2.12", "2.15"):
        return "SaveOptions(experimental_sharding_callback=MaxShardSizePolicy) was added in TF 2.16"
    if a == "strategy" and b == "layout" and vb == "sharded_saver" and va not in TF1_STRATEGIES and va != "none":
        return "only SavedModelBuilder takes a tf.compat.v1.train.Saver (sharded=True)"
    if a == "strategy" and b == "layout" and vb == "max_shard_size" and va in TF1_STRATEGIES:
        return "MaxShardSizePolicy is a tf.saved_model.SaveOptions option; SavedModelBuilder has none"
    if a == "layout" and b == "policy" and va == "sharded_saver" and vb != "NONE":
        return "a sharded Saver needs SavedModelBuilder, which has no variable policy"
    if a == "strategy" and b == "policy" and vb != "NONE" and va in TF1_STRATEGIES:
        return "SavedModelBuilder has no variable policy (a tf.saved_model.SaveOptions option)"
    return None


def why_invalid_pair(a, va, b, vb):
    return pair_rule(a, va, b, vb) or pair_rule(b, vb, a, va)


def why_invalid(cell):
    """The first reason a (possibly partial) cell is invalid, or None."""
    items = [(a, cell[a]) for a in AXIS_NAMES if a in cell]
    for (a, va), (b, vb) in itertools.combinations(items, 2):
        r = why_invalid_pair(a, va, b, vb)
        if r:
            return r
    return None


def all_pairs():
    """Every pair ((a, va), (b, vb)) with a before b in AXES order."""
    for (i, (a, avals)), (j, (b, bvals)) in itertools.combinations(enumerate(AXES), 2):
        for va in avals:
            for vb in bvals:
                yield (a, va), (b, vb)


def invalid_pairs():
    """[(axis_a, value_a, axis_b, value_b, reason)] for every invalid pair."""
    out = []
    for (a, va), (b, vb) in all_pairs():
        r = why_invalid_pair(a, va, b, vb)
        if r:
            out.append((a, va, b, vb, r))
    return out


# Risky combinations found while building the matrix, kept as extra cells
# whatever the covering array holds. Each says why it is risky.
RISKY = [
    ({"strategy": "mirrored2", "policy": "NONE", "save_api": "tf_save_debug_aliases",
      "family": "dense_bn_dropout", "layout": "default", "version": "2.18"},
     "issue 15: a function body keeps replica_1 ops on CPU:1 (verify said not portable; TF loads it)"),
    ({"strategy": "tf1_towers4", "policy": "NONE", "save_api": "tf1_builder",
      "family": "dense_bn_dropout", "layout": "default", "version": "2.18"},
     "issue 15: TF1 four towers (rewrite and verify disagreed on partitioned variables)"),
    ({"strategy": "one_device", "policy": "SAVE_VARIABLE_DEVICES", "save_api": "tf_save",
      "family": "dense_bn_dropout", "layout": "default", "version": "2.18"},
     "OneDeviceStrategy on CPU:1 saves every variable device as CPU:1"),
    ({"strategy": "mirrored2", "policy": "EXPAND_DISTRIBUTED_VARIABLES", "save_api": "tf_save_debug_aliases",
      "family": "jit", "layout": "default", "version": "2.18"},
     "a jit_compile body is not inlined by Grappler, so its CPU:1 pins are placed without soft placement"),
    ({"strategy": "mirrored2", "policy": "EXPAND_DISTRIBUTED_VARIABLES", "save_api": "keras_tf",
      "family": "sync_first", "layout": "default", "version": "2.18"},
     "per-replica ONLY_FIRST_REPLICA sync-on-read variables expanded into replica components"),
]


def key(cell):
    """A stable file-system name of a cell."""
    return "-".join(cell[a] for a in AXIS_NAMES).replace(".", "")


def covering_array(seed=SEED):
    """Returns the cells: a pairwise covering array of the valid pairs, then
    the RISKY cells not already present; each cell is a dict with the axes
    and "why" (why it is in the matrix)."""
    rnd = random.Random(seed)
    uncovered = {p for p in all_pairs() if not why_invalid_pair(p[0][0], p[0][1], p[1][0], p[1][1])}
    rows = []
    order = {a: rnd.sample(vals, len(vals)) for a, vals in AXES}
    used = {(a, v): 0 for a, vals in AXES for v in vals}
    while uncovered:
        (a0, v0), (b0, w0) = min(uncovered, key=lambda p: (AXIS_NAMES.index(p[0][0]), VALUES[p[0][0]].index(p[0][1]),
                                                           AXIS_NAMES.index(p[1][0]), VALUES[p[1][0]].index(p[1][1])))
        cell = {a0: v0, b0: w0}
        for a in AXIS_NAMES:
            if a in cell:
                continue
            best, best_gain = None, -1
            for v in order[a]:
                trial = dict(cell)
                trial[a] = v
                if why_invalid(trial):
                    continue
                gain = sum(1 for b, w in cell.items()
                           if ((a, v), (b, w)) in uncovered or ((b, w), (a, v)) in uncovered)
                # Ties go to the value used least so far (a balanced
                # matrix), then to the seeded order.
                if gain > best_gain or (gain == best_gain and used[(a, v)] < used[(a, best)]):
                    best, best_gain = v, gain
            if best is None:
                break
            cell[a] = best
        if len(cell) < len(AXIS_NAMES) or why_invalid(cell):
            # No valid completion: the seed pair cannot be covered together
            # with the other rules; drop it (reported by uncoverable()).
            uncovered.discard(((a0, v0), (b0, w0)))
            continue
        for (a, va), (b, vb) in itertools.combinations([(a, cell[a]) for a in AXIS_NAMES], 2):
            uncovered.discard(((a, va), (b, vb)))
        for a in AXIS_NAMES:
            used[(a, cell[a])] += 1
        cell["why"] = "pairwise"
        rows.append(cell)
    have = {key(c) for c in rows}
    for cell, why in RISKY:
        assert not why_invalid(cell), (cell, why_invalid(cell))
        if key(cell) not in have:
            c = dict(cell)
            c["why"] = "risky: " + why
            rows.append(c)
        else:
            for c in rows:
                if key(c) == key(cell):
                    c["why"] += "; risky: " + why
    return rows


def check_coverage(cells):
    """Returns the valid pairs no cell covers (empty when pairwise holds)."""
    covered = set()
    for c in cells:
        for (a, va), (b, vb) in itertools.combinations([(a, c[a]) for a in AXIS_NAMES], 2):
            covered.add(((a, va), (b, vb)))
    return [p for p in all_pairs()
            if not why_invalid_pair(p[0][0], p[0][1], p[1][0], p[1][1]) and p not in covered]


if __name__ == "__main__":
    cells = covering_array()
    print(len(cells), "cells;", len(invalid_pairs()), "invalid pairs;",
          len(check_coverage(cells)), "valid pairs uncovered")
