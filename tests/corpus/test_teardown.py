"""``aura setup-fvc`` refuses odd archive names; ``aura teardown-fvc`` removes exactly its files."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from aura.corpus.archive import extract_archive

from ..conftest import aura_cli, zip_of

CSV = b"cascade_id,video_url,label\nf0,https://www.youtube.com/watch?v=AAAAAAAAAAA,fake\n"


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (files with their sha256)."""
    return {
        p.relative_to(root).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        )
        for p in sorted(root.rglob("*"))
    }


# --- setup-fvc: archive names -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["...zip", "..zip", ".zip", ".hidden.zip", "-rf.zip", "a\\b.zip", "x .zip", "tab\t.zip"]
)
def test_odd_archive_stems_are_refused_by_name(tmp_path: Path, name: str) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "FVC.csv").write_bytes(CSV)
    archive = zip_of(tmp_path / "in" / name, {"FVC.csv": b"overwritten!", "x.mp4": b"x"})
    before = snapshot(tmp_path)
    result = aura_cli("setup-fvc", archive, "--dest", dest)
    assert result.exit_code == 1, result.output
    assert f"refusing archive {name!r}" in result.output
    assert snapshot(tmp_path) == before  # nothing written anywhere, FVC.csv intact
    assert (dest / "FVC.csv").read_bytes() == CSV


def test_target_folder_symlinked_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    (dest / "videos").mkdir(parents=True)
    (dest / "videos" / "FVC1").symlink_to(outside)
    report = extract_archive(zip_of(tmp_path / "FVC1.zip", {"a.mp4": b"a"}), dest)
    assert report.extracted == []
    assert "outside" in report.errors[0][1] and str(outside) in report.errors[0][1]
    assert list(outside.iterdir()) == []


# --- teardown-fvc -----------------------------------------------------------------------------


@pytest.fixture
def extracted(tmp_path: Path) -> Path:
    """DEST after setup-fvc of two archives kept inside DEST, with user files around them."""
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "FVC.csv").write_bytes(CSV)
    (dest / "videos" / "FVC1").mkdir(parents=True)
    (dest / "videos" / "FVC1" / "same.mp4").write_bytes(b"same")  # already there, same bytes
    a = zip_of(
        dest / "FVC1.zip",
        {"FVC1/a.mp4": b"a" * 10, "FVC1/sub/b.mp4": b"b" * 20, "FVC1/same.mp4": b"same"},
    )
    b = zip_of(dest / "FVC2.zip", {"c.mp4": b"c" * 30, "deep/er/d.mp4": b"d"})
    result = aura_cli("setup-fvc", a, b, "--dest", dest)
    assert result.exit_code == 0, result.output
    (dest / "videos" / "FVC1" / "mine.mp4").write_bytes(b"user file")
    (dest / "videos" / "user.mp4").write_bytes(b"user file at the top")
    return dest


def test_teardown_dry_run_touches_nothing(extracted: Path) -> None:
    before = snapshot(extracted)
    result = aura_cli("teardown-fvc", "--dest", extracted)
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert "would remove  videos/FVC1/a.mp4 (10 B)" in result.output
    assert "would remove  folder videos/FVC2/deep/er/" in result.output
    assert "kept  videos/FVC1/mine.mp4: not extracted by setup-fvc" in result.output
    assert snapshot(extracted) == before


def test_teardown_removes_exactly_what_was_extracted(extracted: Path) -> None:
    changed = extracted / "videos" / "FVC2" / "c.mp4"
    changed.write_bytes(b"C" * 30)  # same size, other bytes: the user's now
    result = aura_cli("teardown-fvc", "--dest", extracted, "--yes")
    assert result.exit_code == 0, result.output
    assert "removed  videos/FVC1/sub/b.mp4 (20 B)" in result.output
    assert "kept  videos/FVC2/c.mp4: changed since extraction" in result.output
    assert "kept  videos/FVC1/same.mp4: it was already there at extraction" in result.output
    assert "removed 3 files (31 B) and 3 folders" in result.output
    assert {p for p, kind in snapshot(extracted).items() if kind != "dir"} == {
        "FVC.csv",
        "FVC1.zip",
        "FVC2.zip",
        "videos/user.mp4",
        "videos/FVC1/mine.mp4",
        "videos/FVC1/same.mp4",
        "videos/FVC2/c.mp4",
    }
    # emptied folders it created are gone, folders holding kept files stay, records go last
    assert not (extracted / "videos" / "FVC1" / "sub").exists()
    assert not (extracted / "videos" / "FVC2" / "deep").exists()
    assert not (extracted / ".aura-setup").exists()
    again = aura_cli("teardown-fvc", "--dest", extracted, "--yes")
    assert again.exit_code == 0 and "nothing to remove" in again.output


def test_tampered_record_outside_videos_is_refused(extracted: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (extracted / "videos" / "FVC2" / "link").symlink_to(tmp_path)
    record_path = extracted / ".aura-setup" / "FVC2.json"
    record = json.loads(record_path.read_text())
    entry = {"size": 8, "crc": zipfile.crc32(b"precious"), "mtime_ns": 0, "written": True}
    bad = ["videos/../../victim.txt", "videos/FVC2/link/victim.txt", "/etc/hostname", "FVC.csv"]
    record["files"].update(dict.fromkeys(bad, entry))
    record["dirs"].append("videos/../..")
    record_path.write_text(json.dumps(record))

    result = aura_cli("teardown-fvc", "--dest", extracted, "--yes")
    assert result.exit_code == 1
    for key in bad:
        assert f"refused  {key}: " in result.output
    assert "refused  videos/../..: folder" in result.output
    assert victim.read_text() == "precious"
    assert (extracted / "FVC.csv").read_bytes() == CSV
    assert record_path.exists()  # a refused record is kept for the user to look at
    assert not (extracted / "videos" / "FVC2" / "deep").exists()  # the rest was still undone
