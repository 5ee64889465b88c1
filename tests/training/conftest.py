"""Fixtures of the training tests: a tiny random model saved once, in a MODEL_ROOT of its own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_root(small_world: Path, tmp_path_factory) -> Path:
    """A MODEL_ROOT holding `tiny/`: the tiny preset with random weights (answers are noise, fast)."""
    from training.presets import build_tiny, save_model

    root = tmp_path_factory.mktemp("models")
    save_model(*build_tiny(small_world / "corpus" / "english.txt"), root / "tiny")
    return root


@pytest.fixture
def model_root(tiny_model_root: Path, settings, tmp_path) -> Path:
    """settings.MODEL_ROOT and EXPORT_ROOT for one test (the tiny model linked in)."""
    root = tmp_path / "models"
    root.mkdir()
    (root / "tiny").symlink_to(tiny_model_root / "tiny")
    settings.MODEL_ROOT = root
    settings.EXPORT_ROOT = tmp_path / "exports"
    return root
