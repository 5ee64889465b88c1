"""Bad arguments fail early with a message that says what was wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from world.generator import generate_world


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown world size 'huge': choose one of full, small"):
        generate_world(tmp_path, size="huge")


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan")])
def test_yes_share_outside_zero_one_is_refused(tmp_path: Path, share: float) -> None:
    with pytest.raises(ValueError, match="yes_share must be a number between 0 and 1"):
        generate_world(tmp_path, yes_share=share)


def test_non_integer_seed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seed must be an integer"):
        generate_world(tmp_path, seed="1")  # type: ignore[arg-type]


def test_directory_with_other_content_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("keep me")
    with pytest.raises(ValueError, match="is not empty and holds no generated world"):
        generate_world(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "keep me"
    assert not (tmp_path / "images").exists()


def test_command_line_generates_a_world(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "world", "--out", str(out), "--seed", "4", "--size", "small", "--yes-share", "0.3"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert "instruct" in done.stdout
    assert (out / "manifest.json").is_file()


def test_command_line_reports_a_bad_share(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "world", "--out", str(tmp_path), "--yes-share", "2"],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 2
    assert "yes_share must be a number between 0 and 1" in done.stderr
