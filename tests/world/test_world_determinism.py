"""The same seed and size give byte-identical worlds; another seed gives another world."""

from __future__ import annotations

import hashlib
from pathlib import Path

from world.generator import generate_world


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    generate_world(tmp_path / "a", seed=3, size="small")
    generate_world(tmp_path / "b", seed=3, size="small")
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert len(a) > 100
    assert a == b


def test_different_seeds_give_different_worlds(tmp_path: Path) -> None:
    generate_world(tmp_path / "a", seed=1, size="small")
    generate_world(tmp_path / "b", seed=2, size="small")
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert a.keys() == b.keys()  # same layout ...
    differing = [name for name in a if a[name] != b[name] and name != "manifest.json"]
    assert "llava/llava_instruct.json" in differing  # ... different content
    assert sum(name.startswith("images/") for name in differing) > 100


def test_regenerating_over_a_bigger_world_leaves_no_stale_images(tmp_path: Path) -> None:
    out = tmp_path / "w"
    generate_world(out, seed=0, size="small")
    stale = out / "images" / "999999.png"
    stale.write_bytes(b"left over from a bigger world")
    manifest = generate_world(out, seed=0, size="small")
    assert not stale.exists()
    assert len(list((out / "images").glob("*.png"))) == manifest["counts"]["images"]
