/*
Package device parses, prints, matches and merges TensorFlow device names,
and maps the device names of a strategy-saved model to a single CPU or GPU.

A device name says where a node runs. TensorFlow writes one into every
NodeDef.device of a saved graph and of its function bodies, and the C++
placer must find a matching device when the graph is loaded. Names saved by
a distribution strategy name devices that a single process lacks
(/job:worker/replica:0/task:1/device:GPU:3), which is why such models fail to
load elsewhere.

The facts here come from TensorFlow v2.18.0:
third_party/xla/xla/tsl/util/device_name_utils.{h,cc} (C++, used by the
placer and the SavedModel loader) and tensorflow/python/framework/device_spec.py
(Python). Each function names the TensorFlow function it follows.

# Grammar

[Parse] accepts exactly the names C++ DeviceNameUtils::ParseFullName accepts
(with one exception for huge numbers, below):

	name      = "" | "/" | component { component }
	component = "/job:" ( "*" | jobname )
	          | "/replica:" ( "*" | number )
	          | "/task:" ( "*" | number )
	          | "/device:" ( "*" | type ) [ ":" ( "*" | number ) ]
	          | ( "/cpu:" | "/CPU:" | "/gpu:" | "/GPU:" ) ( "*" | number )
	jobname   = letter { letter | digit | "_" }
	type      = letter { letter | digit | "_" }
	number    = digit { digit }          (0 to MaxNumber; leading zeros allowed)
	letter    = "A"…"Z" | "a"…"z"        (ASCII only)

In words:

  - Components may come in any order and may repeat; a later one overrides an
    earlier one of the same field ("/job:a/job:b" is job b; "/gpu:1/device:GPU"
    is GPU with the id unset again).
  - "*" means unset (any value). There is no difference between a "*" field
    and an absent one; a [Spec] has a Has flag per field and nothing more.
  - "/device:GPU" (no ":") leaves the id unset, like "/device:GPU:*".
  - "/device:*:3" sets an id but no type.
  - "" and "/" are the empty name, which matches every device.

Examples of names TensorFlow, and so Parse, rejects: "CPU:0" and "gpu:0" (no
leading '/'; see [ParseLocal]), "/job:123" (job must start with a letter),
"/job:foo/" (trailing '/'), "/replica:-1", "/device:GPU:" and "/gpu:" (no
id), "/device:gpu:x", "/TPU:0" and "/tpu:0" (only cpu and gpu have the legacy
form), "/job:foo/extra", "/device:GPU:3/extra".

# Normalisation

What Parse changes, and what it keeps, exactly as ParseFullName does:

  - Legacy /cpu:N, /CPU:N, /gpu:N and /GPU:N become type "CPU" or "GPU": "/gpu:0"
    prints as "/device:GPU:0".
  - /device:<type> keeps the case of the type. "/device:gpu:1" has type
    "gpu", which the placer compares case-sensitively with "GPU" and so
    matches no device: such a node fails to place unless soft placement is on.
    [Spec.NormalizeType] upper-cases the known types; [Policy] treats "gpu"
    as a GPU and always writes "CPU" or "GPU".
  - Numbers lose leading zeros ("/task:007" is task 7).
  - Wildcards and repeats vanish as described above; [Spec.String] prints the
    canonical form of TensorFlow's ParsedNameToString:
    /job:J/replica:R/task:T/device:TYPE:ID, set fields only, with "*" for the
    id of a set type whose id is unset.

The text [Spec.String] prints for any Spec that Parse returns (and for any
Spec that passes [Spec.Validate]) is a name ParseFullName accepts and parses
back to the same fields; what [Policy] writes is always "", "/device:CPU:0"
or "/device:GPU:0", which the placer matches in a local process.

Where this package differs from C++ TensorFlow:

  - A replica, task or id above MaxNumber (2147483647) is a *[ParseError].
    TensorFlow reads the digits as a uint64 and assigns them to an int, so
    "/task:4294967296" silently becomes task 0 there. No real model has such
    names; rejecting them keeps Parse(s.String()) == s.
  - [Spec.String] prints a Spec with an id but no type ("/device:*:3") as
    "/device:*:3". TensorFlow prints nothing for the id and so loses it.

Python's tf.DeviceSpec (device_spec.py) parses differently, but the strings
Python writes into graphs are its to_string output, which Parse accepts with
the same meaning. The differences matter only for hand-written names:

  - Python accepts bare "CPU:0", "GPU" and "/job:w/TPU:1" (any known type
    without "device:"); C++ accepts the bare form only for cpu and gpu.
  - Python upper-cases "cpu" and "gpu" everywhere, also in "/device:cpu:0";
    C++ does only for the legacy component.
  - Python rejects two device components ("/device:GPU:2/cpu:0" is "Multiple
    device types are not allowed"); C++ lets the last win.
  - Python keeps "/job:*" as the job name "*" and fails on "/replica:*";
    C++ treats both as unset.

# Matching

The placer finds the devices a node may run on with IsCompleteSpecification:
every field set in the requested name must equal the device's field, exactly
and case-sensitively. [Spec.Matches] is that test (and IsSpecification for
partial names); [Spec.CompatibleWith] is AreCompatibleDevNames; [Spec.Equal]
and [Spec.Compare] follow ParsedName's == and <.

In a single local process the devices are
/job:localhost/replica:0/task:0/device:CPU:0 (and .../device:GPU:0 with a
GPU). A name with another job, or with replica or task other than 0, matches
none of them; [Spec.RefersToCluster] detects this. Soft placement
(ConfigProto.allow_soft_placement, false by default in the C++ loader) only
drops the type and id of a name that cannot be placed, so it does not help
such names.

# Merging

The placer merges the names of colocated nodes with MergeDevNames, and
function inlining fills a body node's unset fields from the caller with
MergeUnsetDevNames. [Spec.Merge], [Spec.MergeSoft], [Spec.MergeOverride] and
[Spec.MergeUnset] follow them field by field, including their order, their
early return after a soft type or id conflict, and the text of their errors
(a *[MergeError] wrapping [ErrIncompatible]).

# Remapping to one device

[Policy] decides what each saved device name becomes for a [Target] of one
CPU or one GPU; the result is always "", "/device:CPU:0" or "/device:GPU:0",
which the C++ placer accepts in a local process with that device. The zero
Policy clears every name (the default for a CPU target);
Policy{Target: GPU} keeps CPU pins on the CPU and moves every GPU pin to
GPU:0. TPU, COMPOSITE and unknown types are cleared by default; see
[OtherAction]. Colocation lists (the _class attr) are not device names and
are not handled here.

# Errors

Every error message starts with "device: ". Parse errors are *[ParseError]
(input, byte offset, reason) wrapping [ErrMalformed]; merge conflicts are
*[MergeError] wrapping [ErrIncompatible]; types refused by a Policy are
*[UnsupportedError] wrapping [ErrUnsupported]; invalid hand-built Specs are
*[FieldError]. No function panics on any input, except [MustParse].
*/
package device
