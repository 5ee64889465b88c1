"""Shared fixtures: the small miniature world (generated once per run) and a database probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from world.generator import generate_world


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """The `small` world, seed 0: images plus English data in every real format."""
    out = tmp_path_factory.mktemp("world") / "small"
    generate_world(out, seed=0, size="small")
    return out


@pytest.fixture
def db_state():
    """A function returning everything an import can change, to prove a failed run changed nothing."""
    from audit.models import Dataset, Item

    def state():
        return (
            sorted(Dataset.objects.values_list("name", "kind", "source_format", "image_root", "source_path")),
            sorted(Item.objects.values_list("dataset__name", "external_id", "content_hash", "updated_at")),
        )

    return state
