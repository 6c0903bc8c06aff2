"""Tests for the ``aura`` console script."""

from __future__ import annotations

from pathlib import Path

from .conftest import aura_cli, zip_of


def table(output: str) -> dict[str, list[str]]:
    """Summary-table rows keyed by archive name."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["archive", "extracted"])
    assert lines[start].split()[2:] == ["skipped", "refused", "errors", "written"]
    return {line.split()[0]: line.split()[1:] for line in lines[start + 1 :] if line.strip()}


def test_help_lists_setup_fvc() -> None:
    result = aura_cli("--help")
    assert result.exit_code == 0
    assert "setup-fvc" in result.output


def test_setup_fvc_extracts_then_skips(tmp_path: Path) -> None:
    a = zip_of(tmp_path / "FVC1.zip", {"FVC1/a.mp4": b"a", "FVC1/b.mp4": b"bb"})
    b = zip_of(tmp_path / "FVC2.zip", {"c.mp4": b"ccc"})
    dest = tmp_path / "fvc"

    first = aura_cli("setup-fvc", a, b, "--dest", dest)
    assert first.exit_code == 0, first.output
    assert (dest / "videos/FVC1/a.mp4").read_bytes() == b"a"
    assert (dest / "videos/FVC2/c.mp4").read_bytes() == b"ccc"
    rows = table(first.output)
    assert rows["FVC1.zip"] == ["2", "0", "0", "0", "3", "B"]
    assert rows["FVC2.zip"] == ["1", "0", "0", "0", "3", "B"]

    second = aura_cli("setup-fvc", a, b, "--dest", dest)
    assert second.exit_code == 0, second.output
    assert table(second.output)["FVC1.zip"][:2] == ["0", "2"]


def test_setup_fvc_refusal_exits_1_after_extracting_the_rest(tmp_path: Path) -> None:
    bad = zip_of(tmp_path / "FVC1.zip", {"../evil.mp4": b"x", "ok.mp4": b"ok"})
    good = zip_of(tmp_path / "FVC2.zip", {"fine.mp4": b"fine"})
    dest = tmp_path / "fvc"
    result = aura_cli("setup-fvc", bad, good, "--dest", dest)
    assert result.exit_code == 1
    assert "refused  ../evil.mp4: path traversal" in result.output
    assert (dest / "videos/FVC1/ok.mp4").exists()
    assert (dest / "videos/FVC2/fine.mp4").exists()
    assert not (tmp_path / "evil.mp4").exists()
    assert not (dest / "videos/evil.mp4").exists()


def test_setup_fvc_size_flag(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "FVC1.zip", {"big.mp4": bytes(2 * 2**20), "s.mp4": b"s"})
    dest = tmp_path / "fvc"
    result = aura_cli("setup-fvc", archive, "--dest", dest, "--max-member-size", "1M")
    assert result.exit_code == 1
    assert "refused  big.mp4: size 2.0 MiB exceeds max member size 1.0 MiB" in result.output
    assert not (dest / "videos/FVC1/big.mp4").exists()
    assert (dest / "videos/FVC1/s.mp4").exists()


def test_setup_fvc_corrupt_archive_exits_1(tmp_path: Path) -> None:
    corrupt = tmp_path / "FVC1.zip"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    good = zip_of(tmp_path / "FVC2.zip", {"x.mp4": b"x"})
    result = aura_cli("setup-fvc", corrupt, good, "--dest", tmp_path / "fvc")
    assert result.exit_code == 1
    assert "error    FVC1.zip: cannot open FVC1.zip as a zip" in result.output
    assert (tmp_path / "fvc/videos/FVC2/x.mp4").exists()


def test_setup_fvc_usage_errors(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "FVC1.zip", {"x.mp4": b"x"})
    assert (
        aura_cli("setup-fvc", archive, "--dest", tmp_path, "--max-total-size", "lots").exit_code
        == 2
    )
    assert aura_cli("setup-fvc", tmp_path / "missing.zip", "--dest", tmp_path).exit_code == 2
    assert aura_cli("setup-fvc", archive).exit_code == 2  # --dest is required
    assert aura_cli("setup-fvc", "--dest", tmp_path).exit_code == 2  # no archives


def test_features_command_lists_every_feature() -> None:
    from aura.features import FEATURES

    result = aura_cli("features")
    assert result.exit_code == 0, result.output
    lines = [line.split(None, 1) for line in result.output.splitlines() if line.startswith("  ")]
    assert [name for name, _ in lines] == list(FEATURES)
    assert all(desc.strip() for _, desc in lines)
