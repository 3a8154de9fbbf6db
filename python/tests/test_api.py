"""The Python API of the installed wheel, on the fixture corpus; rewritten
models are loaded by TensorFlow (testdata/tf/loadcheck.py, in the TensorFlow
venv) and compared with the manifest."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
from typing import Any, Dict

import pytest

import unmirror
from conftest import MANIFEST, MODELS, REPO

# multiworker_save_devices: tf.saved_model.load refuses the original
# (/job:worker devices); mirrored_expand: the TF1 loader (TF Serving, the C
# API) refuses it (CPU:1). Both must load after the rewrite.
FIXED = {"multiworker_save_devices": ["tf2", "tf1"], "mirrored_expand": ["tf2", "tf1"]}


def load_with_tensorflow(tf_python: str, model: pathlib.Path, name: str, runtime: str) -> Dict[str, Any]:
    """loadcheck.py's verdict: the model loaded in runtime and every
    signature's outputs equal the manifest's (for one replica)."""
    proc = subprocess.run(
        [tf_python, str(REPO / "testdata" / "tf" / "loadcheck.py"), str(model), "--expect", str(MANIFEST),
         "--name", name, "--runtime", runtime, "--expect-one-replica"],
        capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"loadcheck.py printed no result (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(lines[-1])


@pytest.mark.parametrize("name", sorted(FIXED))
def test_rewrite_then_tensorflow_loads_it(name: str, tmp_path: pathlib.Path, tf_python: str,
                                          manifest: Dict[str, Dict[str, Any]]) -> None:
    src = MODELS / name
    # What the manifest recorded for the original: some runtime refused it.
    assert not all(manifest[name]["before"][rt]["ok"] for rt in FIXED[name])

    report = unmirror.rewrite(src, tmp_path / "out")  # a pathlib.Path works as a path

    assert report.written and report.target == "cpu" and report.findings == ()
    assert report.src == str(src) and report.dst == str(tmp_path / "out")
    assert [p.name for p in report.pass_reports] == list(report.passes) and report.passes[-1] == "verify"
    assert len(report.changes) > 0
    assert unmirror.verify(tmp_path / "out").ok
    for runtime in FIXED[name]:
        got = load_with_tensorflow(tf_python, tmp_path / "out", name, runtime)
        assert got["ok"], (runtime, got)


@pytest.mark.parametrize("name", sorted(FIXED))
def test_inspect_finds_the_manifest_artifacts(name: str, manifest: Dict[str, Dict[str, Any]]) -> None:
    got = unmirror.inspect(os.fspath(MODELS / name))
    assert set(got.artifact_names) == set(manifest[name]["artifacts"])
    assert got.model == str(MODELS / name)
    assert [v.target for v in got.verdicts] == ["cpu", "gpu"]
    assert not got.verdict("cpu").portable and got.verdict("cpu").reasons
    keys = [s.key for m in got.meta_graphs for s in m.signatures]
    assert keys == sorted(keys) and set(manifest[name]["signatures"]) <= set(keys)
    with pytest.raises(KeyError):
        got.verdict("tpu")


def test_verify_raises_not_portable_with_the_findings() -> None:
    src = MODELS / "mirrored_expand"
    with pytest.raises(unmirror.NotPortableError) as exc:
        unmirror.verify(src)
    e = exc.value
    assert e.returncode == 1 and str(src) in e.message
    assert e.verification is not None and not e.verification.ok
    assert e.reasons == e.verification.reasons and "device" in {r.kind for r in e.reasons}
    assert e.findings and all(f.what for f in e.findings)
    assert any("CPU:1" in f.device for f in e.findings)


def test_rewrite_that_leaves_findings_raises_and_writes_nothing(tmp_path: pathlib.Path) -> None:
    with pytest.raises(unmirror.NotPortableError) as exc:
        unmirror.rewrite(MODELS / "mirrored_expand", tmp_path / "out", passes=["verify"])
    e = exc.value
    assert e.returncode == 1 and "nothing written" in e.message
    assert e.report is not None and not e.report.written and e.report.error
    assert e.findings == e.report.findings and len(e.findings) > 0
    assert not (tmp_path / "out").exists()


def corrupt_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    bad = tmp_path / "corrupt"
    shutil.copytree(MODELS / "plain", bad)
    pb = bad / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[: pb.stat().st_size // 2])
    return bad


@pytest.mark.parametrize("call", ["inspect", "verify", "rewrite", "diff"])
def test_corrupt_model_raises_model_io_error(call: str, tmp_path: pathlib.Path) -> None:
    bad = corrupt_copy(tmp_path)
    before = {p.name: p.read_bytes() for p in bad.rglob("*") if p.is_file()}
    with pytest.raises(unmirror.ModelIOError) as exc:
        if call == "rewrite":
            unmirror.rewrite(bad, tmp_path / "out")
        elif call == "diff":
            unmirror.diff(MODELS / "plain", bad)
        else:
            getattr(unmirror, call)(bad)
    e = exc.value
    assert e.returncode == 3
    assert str(bad) in e.message and "saved_model.pb" in e.message, e.message
    assert e.file == "saved_model.pb" and e.offset is not None, (e.file, e.offset, e.document)
    assert not (tmp_path / "out").exists()
    assert {p.name: p.read_bytes() for p in bad.rglob("*") if p.is_file()} == before


def test_damaged_variable_data_raises_model_io_error(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "damaged"
    shutil.copytree(MODELS / "plain", bad)
    data = sorted((bad / "variables").glob("variables.data-*"))[0]
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    for call in (lambda: unmirror.verify(bad), lambda: unmirror.rewrite(bad, tmp_path / "out")):
        with pytest.raises(unmirror.ModelIOError) as exc:
            call()
        assert "checksum mismatch" in exc.value.message and data.name in exc.value.message, exc.value.message
    assert not (tmp_path / "out").exists()
    # Without the checksums the damage is invisible, as in TensorFlow's loader.
    assert unmirror.verify(bad, skip_checksums=True).ok


def test_existing_dst_needs_force(tmp_path: pathlib.Path) -> None:
    dst = tmp_path / "out"
    unmirror.rewrite(MODELS / "plain", dst)
    with pytest.raises(unmirror.ModelIOError) as exc:
        unmirror.rewrite(MODELS / "plain", dst)
    assert "--force" in exc.value.message
    with pytest.raises(unmirror.ModelIOError) as exc:  # the tool warns first; the error is the message
        unmirror.rewrite(MODELS / "plain", dst, no_verify=True)
    assert "--force" in exc.value.message and "warning" in exc.value.stderr, exc.value.stderr
    assert unmirror.rewrite(MODELS / "mirrored_expand", dst, force=True).written
    assert unmirror.verify(dst).ok


@pytest.mark.parametrize("kwargs", [{"target": "tpu"}, {"passes": ["no-such-pass"]}])
def test_bad_arguments_raise_usage_error(kwargs: Dict[str, Any], tmp_path: pathlib.Path) -> None:
    with pytest.raises(unmirror.UsageError) as exc:
        unmirror.rewrite(MODELS / "plain", tmp_path / "out", **kwargs)
    assert exc.value.returncode == 2 and isinstance(exc.value, ValueError)
    assert str(next(iter(kwargs.values()))).strip("[]'") in exc.value.message
    assert not (tmp_path / "out").exists()


def test_dry_run_and_passes(tmp_path: pathlib.Path) -> None:
    rep = unmirror.rewrite(MODELS / "mirrored_expand", dry_run=True)
    assert not rep.written and rep.dry_run and rep.dst == "" and rep.findings == ()
    none = unmirror.rewrite(MODELS / "plain", tmp_path / "rt", passes=[])  # a checked round trip
    assert none.passes == ("verify",) and none.written and not none.unverified
    assert unmirror.diff(MODELS / "plain", tmp_path / "rt").same
    unchecked = unmirror.rewrite(MODELS / "mirrored_expand", tmp_path / "unchecked", passes=[], no_verify=True)
    assert unchecked.passes == () and unchecked.written and unchecked.unverified
    with pytest.raises(unmirror.NotPortableError):
        unmirror.verify(tmp_path / "unchecked")
    gpu = unmirror.rewrite(MODELS / "mirrored_expand", tmp_path / "gpu", target="gpu", passes="replicas,devices,verify")
    assert gpu.target == "gpu" and gpu.passes == ("replicas", "devices", "verify")
    assert unmirror.verify(tmp_path / "gpu", target="gpu").target == "gpu"


def test_diff_lists_what_the_rewrite_changed(tmp_path: pathlib.Path) -> None:
    unmirror.rewrite(MODELS / "mirrored_expand", tmp_path / "out")
    d = unmirror.diff(MODELS / "mirrored_expand", tmp_path / "out")
    assert not d.same and d.a == str(MODELS / "mirrored_expand")
    cpu1 = [c for c in d.devices if c.name == "/job:localhost/replica:0/task:0/device:CPU:1"]
    assert len(cpu1) == 1 and cpu1[0].a > 0 and cpu1[0].b == 0, d.devices
    assert unmirror.diff(tmp_path / "out", tmp_path / "out").same


def test_results_tolerate_added_fields() -> None:
    rep = unmirror.inspect(MODELS / "plain")
    doc = dict(rep.raw, some_new_field={"x": 1})
    doc["verdicts"] = [dict(v, new=True) for v in doc["verdicts"]]
    again = unmirror.Inspection.from_json(doc)
    assert again == rep and again.raw["some_new_field"] == {"x": 1}


def test_readme_from_python_quick_start() -> None:
    """The root README's "From Python" commands (after the pip install that
    python/test.sh ran) work as written."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From Python", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [ln for ln in section.strip().splitlines()]
    assert lines[0] == "pip install --no-index --find-links python/dist unmirror", lines
    assert len(lines) == 2 and lines[1].startswith("python -c "), lines
    subprocess.run(lines[1], shell=True, cwd=REPO, check=True)
    dst = lines[1].split('", "')[1].split('"')[0]
    assert unmirror.verify(dst).ok


def test_report_of_an_unknown_shape_still_reads() -> None:
    # A rewrite document without "report" (a future command shape) reads as
    # an empty report with everything in raw, instead of failing.
    doc = {"src": "base", "dst": "out", "written": True, "versions": [{"version": "1"}]}
    rep = unmirror.Report.from_json(doc)
    assert rep.written and rep.pass_reports == () and rep.raw["versions"] == [{"version": "1"}]
