"""Dumps the facts package ops is generated from, out of a TensorFlow wheel.

  python dump.py registry   every OpDef the wheel registers (tensorflow-cpu==2.18.0)
  python dump.py kernels    every KernelDef the wheel registers (tensorflow==2.18.0,
                            the GPU-enabled build; no GPU is needed to list them)

One line per op (registry) or per distinct kernel (kernels), sorted, tab-separated;
the format is described in ops/internal/opgen/opgen.go, which reads it. Run by
`go generate ./ops` (through the venv named in ops/gen.go) and checked against the
live wheel by .ci/run.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import op_def_pb2, types_pb2  # noqa: E402
from tensorflow.python.client import pywrap_tf_session as c_api  # noqa: E402


def dtype(t):
    return types_pb2.DataType.Name(t)


def args(lst):
    out = []
    for a in lst:
        s = a.name
        if a.number_attr:
            s += "#" + a.number_attr
        elif a.type_list_attr:
            s += "*" + a.type_list_attr
        out.append(s)
    return ",".join(out)


def type_defaults(op):
    out = []
    for a in op.attr:
        if a.type == "type" and a.default_value.HasField("type"):
            out.append("%s=%s" % (a.name, dtype(a.default_value.type)))
    return ",".join(out)


def registry():
    buf = c_api.TF_GetAllOpList()
    try:
        ol = op_def_pb2.OpList()
        ol.ParseFromString(c_api.TF_GetBuffer(buf))
    finally:
        c_api.TF_DeleteBuffer(buf)
    lines = []
    for op in ol.op:
        lines.append("\t".join([op.name, "1" if op.is_stateful else "0", args(op.input_arg),
                                args(op.output_arg), type_defaults(op)]))
    return lines


def kernels():
    from tensorflow.python.framework import kernels as k
    seen = set()
    for kd in k.get_all_registered_kernels().kernel:
        if kd.device_type not in ("GPU", "DEFAULT"):
            seen.add("\t".join([kd.op, kd.device_type, "", "", ""]))
            continue
        cons = []
        for c in sorted(kd.constraint, key=lambda c: c.name):
            lst = c.allowed_values.list
            vals = sorted(dtype(t) for t in lst.type)
            vals += ["i:%d" % i for i in sorted(lst.i)]
            vals += ["b:%s" % ("true" if b else "false") for b in sorted(lst.b)]
            vals += ["s:" + v.decode() for v in sorted(lst.s)]
            cons.append("%s=%s" % (c.name, "|".join(vals)))
        seen.add("\t".join([kd.op, kd.device_type, ";".join(cons), ",".join(sorted(kd.host_memory_arg)), kd.label]))
    return list(seen)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "registry":
        lines = registry()
    elif what == "kernels":
        lines = kernels()
    else:
        sys.exit("usage: dump.py registry|kernels")
    sys.stdout.write("# tensorflow %s %s\n" % (tf.__version__, what))
    for line in sorted(lines):
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
