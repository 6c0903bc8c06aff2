"""Tests for aura.corpus.archive, on real zip files built in tmp_path."""

from __future__ import annotations

import io
import os
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from aura.corpus.archive import (
    ExtractLimits,
    RefusedMember,
    copy_capped,
    extract_archive,
    extract_archives,
    parse_size,
    safe_parts,
)

Member = tuple[str | zipfile.ZipInfo, bytes]


def make_zip(path: Path, members: list[Member], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate-name test
        with zipfile.ZipFile(path, "w", compression=compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def patch_header(path: Path, local_offset: int, central_offset: int, fmt: str, value: int) -> None:
    """Overwrite one field in the (single) member's local header and central directory entry."""
    raw = bytearray(path.read_bytes())
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    struct.pack_into(fmt, raw, local + local_offset, value)
    struct.pack_into(fmt, raw, central + central_offset, value)
    path.write_bytes(bytes(raw))


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def video_files(dest: Path, stem: str) -> set[str]:
    return files_under(dest / "videos" / stem)


# --- names and sizes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1024", 1024), ("500M", 500 * 2**20), ("4G", 4 * 2**30), ("4GiB", 4 * 2**30), ("1.5k", 1536)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "5X", "-1", "0"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    "name", ["/x.mp4", "\\x.mp4", "C:\\x.mp4", "C:x.mp4", "../evil", "a/../../evil", "a\\..\\b"]
)
def test_safe_parts_refuses(name: str) -> None:
    with pytest.raises(RefusedMember):
        safe_parts(name)


def test_safe_parts_normalises() -> None:
    assert safe_parts("a\\b//./c.mp4") == ["a", "b", "c.mp4"]


def test_copy_capped_stops_at_limit() -> None:
    dst = io.BytesIO()
    with pytest.raises(RefusedMember, match="exceeds 10 bytes"):
        copy_capped(io.BytesIO(b"x" * 100), dst, limit=10)
    assert len(dst.getvalue()) <= 10
    assert copy_capped(io.BytesIO(b"x" * 10), io.BytesIO(), limit=10) == 10


# --- normal extraction and idempotency --------------------------------------------------------


def test_extracts_and_strips_stem_folder(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "FVC1.zip",
        [
            ("FVC1/", b""),
            ("FVC1/real/a.mp4", b"aaa"),
            ("FVC1/fake/b.mp4", b"bbbb"),
            ("__MACOSX/FVC1/._a.mp4", b"junk"),
        ],
    )
    dest = tmp_path / "dest"
    report = extract_archive(archive, dest)
    assert report.ok
    assert sorted(report.extracted) == ["FVC1/fake/b.mp4", "FVC1/real/a.mp4"]
    assert report.ignored == ["__MACOSX/FVC1/._a.mp4"]
    assert report.bytes_written == 7
    assert report.target == dest / "videos" / "FVC1"
    assert video_files(dest, "FVC1") == {"real/a.mp4", "fake/b.mp4"}
    assert (dest / "videos/FVC1/fake/b.mp4").read_bytes() == b"bbbb"


def test_keeps_structure_without_stem_folder(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC2.zip", [("FVC2/a.mp4", b"a"), ("other/b.mp4", b"b")])
    dest = tmp_path / "dest"
    assert extract_archive(archive, dest).ok
    assert video_files(dest, "FVC2") == {"FVC2/a.mp4", "other/b.mp4"}


def test_root_file_named_like_stem_is_not_stripped(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC3.zip", [("FVC3", b"x"), ("FVC3/a.mp4", b"a")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = extract_archive(archive, tmp_path / "dest")
    # "FVC3" (a file) and "FVC3/a.mp4" cannot both exist; nothing is silently dropped.
    assert "FVC3" in report.extracted
    assert [m for m, _ in report.errors] == ["FVC3/a.mp4"]


def test_rerun_skips_everything(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("a.mp4", b"a" * 100), ("sub/b.mp4", b"b" * 50)])
    dest = tmp_path / "dest"
    extract_archive(archive, dest)
    again = extract_archive(archive, dest)
    assert again.ok
    assert again.extracted == []
    assert sorted(again.skipped) == ["a.mp4", "sub/b.mp4"]
    assert again.bytes_written == 0


def test_rerun_without_state_file_still_skips(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("a.mp4", b"a" * 100)])
    dest = tmp_path / "dest"
    extract_archive(archive, dest)
    (dest / ".aura-setup" / "FVC1.json").unlink()
    assert extract_archive(archive, dest).skipped == ["a.mp4"]


def test_changed_member_is_reextracted(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    v1 = make_zip(tmp_path / "v1" / "FVC1.zip", [("a.mp4", b"old!"), ("b.mp4", b"same")])
    v2 = make_zip(tmp_path / "v2" / "FVC1.zip", [("a.mp4", b"new!"), ("b.mp4", b"same")])
    extract_archive(v1, dest)
    report = extract_archive(v2, dest)
    assert report.extracted == ["a.mp4"]
    assert report.skipped == ["b.mp4"]
    assert (dest / "videos/FVC1/a.mp4").read_bytes() == b"new!"


def test_tampered_file_on_disk_is_reextracted(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("a.mp4", b"original")])
    dest = tmp_path / "dest"
    extract_archive(archive, dest)
    target = dest / "videos/FVC1/a.mp4"
    target.write_bytes(b"tampered")  # same size, different bytes
    assert extract_archive(archive, dest).extracted == ["a.mp4"]
    assert target.read_bytes() == b"original"


def test_several_archives(tmp_path: Path) -> None:
    a = make_zip(tmp_path / "FVC1.zip", [("FVC1/x.mp4", b"1")])
    b = make_zip(tmp_path / "FVC2.zip", [("FVC2/y.mp4", b"2")])
    reports = extract_archives([a, b], tmp_path / "dest")
    assert [r.extracted for r in reports] == [["FVC1/x.mp4"], ["FVC2/y.mp4"]]
    assert files_under(tmp_path / "dest" / "videos") == {"FVC1/x.mp4", "FVC2/y.mp4"}


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["../evil.mp4", "a/../../evil.mp4", "..\\evil.mp4", "/abs.mp4", "\\abs.mp4", "C:\\abs.mp4"],
)
def test_unsafe_names_refused_nothing_outside(tmp_path: Path, bad: str) -> None:
    archive = make_zip(tmp_path / "in" / "FVC1.zip", [(bad, b"evil"), ("good.mp4", b"ok")])
    dest = tmp_path / "dest"
    report = extract_archive(archive, dest)
    assert [m for m, _ in report.refused] == [bad]
    assert report.extracted == ["good.mp4"]
    assert files_under(tmp_path) == {
        "in/FVC1.zip",
        "dest/videos/FVC1/good.mp4",
        "dest/.aura-setup/FVC1.json",
    }


def test_symlink_member_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.mp4")
    link.external_attr = 0o120777 << 16
    archive = make_zip(tmp_path / "FVC1.zip", [(link, b"/etc/passwd"), ("ok.mp4", b"ok")])
    report = extract_archive(archive, tmp_path / "dest")
    assert report.refused == [("link.mp4", "symlink member")]
    assert report.extracted == ["ok.mp4"]
    assert not (tmp_path / "dest/videos/FVC1/link.mp4").exists()


def test_fifo_member_refused(tmp_path: Path) -> None:
    fifo = zipfile.ZipInfo("pipe")
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    report = extract_archive(make_zip(tmp_path / "FVC1.zip", [(fifo, b"")]), tmp_path / "d")
    assert report.refused == [("pipe", "fifo member")]


def test_existing_symlink_escape_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "dest/videos/FVC1"
    root.mkdir(parents=True)
    (root / "sub").symlink_to(outside)
    report = extract_archive(
        make_zip(tmp_path / "FVC1.zip", [("sub/x.mp4", b"x")]), tmp_path / "dest"
    )
    assert report.refused == [("sub/x.mp4", "resolves outside the destination")]
    assert not any(outside.iterdir())


def test_encrypted_member_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("secret.mp4", b"data")])
    patch_header(archive, 6, 8, "<H", 0x1)  # general-purpose flag bit 0: encrypted
    report = extract_archive(archive, tmp_path / "dest")
    assert report.refused == [("secret.mp4", "encrypted member")]


def test_zip_bomb_refused_by_member_cap(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("bomb.mp4", bytes(50 * 2**20)), ("ok.mp4", b"ok")])
    limits = ExtractLimits(max_member_size=10 * 2**20, max_ratio=10**9)
    report = extract_archive(archive, tmp_path / "dest", limits)
    assert [m for m, _ in report.refused] == ["bomb.mp4"]
    assert "max member size" in report.refused[0][1]
    assert report.extracted == ["ok.mp4"]
    assert files_under(tmp_path / "dest" / "videos") == {"FVC1/ok.mp4"}


def test_zip_bomb_refused_by_ratio(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("bomb.mp4", bytes(5 * 2**20))])
    report = extract_archive(archive, tmp_path / "dest")
    assert "compression ratio" in report.refused[0][1]
    assert video_files(tmp_path / "dest", "FVC1") == set()


def test_total_cap(tmp_path: Path) -> None:
    members: list[Member] = [(f"{i}.mp4", os.urandom(1024)) for i in range(3)]
    archive = make_zip(tmp_path / "FVC1.zip", members)
    limits = ExtractLimits(max_total_size=2560)
    first = extract_archive(archive, tmp_path / "dest", limits)
    assert first.extracted == ["0.mp4", "1.mp4"]
    assert [m for m, _ in first.refused] == ["2.mp4"]
    again = extract_archive(archive, tmp_path / "dest", limits)  # the cap counts skipped files too
    assert again.skipped == ["0.mp4", "1.mp4"]
    assert [m for m, _ in again.refused] == ["2.mp4"]


def test_member_count_cap(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [(f"{i}.mp4", b"x") for i in range(5)])
    report = extract_archive(archive, tmp_path / "dest", ExtractLimits(max_members=3))
    assert report.extracted == []
    assert "max members" in report.errors[0][1]


def test_duplicate_entries_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("a/x.mp4", b"one"), ("a\\x.mp4", b"two")])
    report = extract_archive(archive, tmp_path / "dest")
    assert report.extracted == ["a/x.mp4"]
    assert report.refused == [("a\\x.mp4", "duplicate entry for the same path")]
    assert (tmp_path / "dest/videos/FVC1/a/x.mp4").read_bytes() == b"one"


# --- lying headers and corruption -------------------------------------------------------------


def test_header_declaring_fewer_bytes_is_not_trusted(tmp_path: Path) -> None:
    # zipfile stops the stream at the declared size, so at most 1 KiB is ever
    # written; the CRC then fails and the member is reported, nothing is kept.
    archive = make_zip(tmp_path / "FVC1.zip", [("lie.mp4", bytes(8 * 2**20))])
    patch_header(archive, 22, 24, "<I", 1024)  # uncompressed size
    report = extract_archive(archive, tmp_path / "dest", ExtractLimits(max_ratio=10**9))
    assert report.extracted == []
    assert [m for m, _ in report.errors] == ["lie.mp4"]
    assert "CRC" in report.errors[0][1]
    assert files_under(tmp_path / "dest" / "videos") == set()


def test_header_declaring_more_bytes_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("lie.mp4", b"short")])
    patch_header(archive, 22, 24, "<I", 5000)
    report = extract_archive(archive, tmp_path / "dest", ExtractLimits(max_ratio=10**9))
    assert [m for m, _ in report.refused] == ["lie.mp4"]
    assert "size mismatch" in report.refused[0][1]
    assert files_under(tmp_path / "dest" / "videos") == set()  # no .part left behind


def test_bad_crc_member_reported_others_kept(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "FVC1.zip",
        [("a.mp4", b"A" * 64), ("b.mp4", b"B" * 64), ("c.mp4", b"C" * 64)],
        compression=zipfile.ZIP_STORED,
    )
    raw = bytearray(archive.read_bytes())
    raw[raw.index(b"B" * 64)] = ord("X")
    archive.write_bytes(bytes(raw))
    report = extract_archive(archive, tmp_path / "dest")
    assert report.extracted == ["a.mp4", "c.mp4"]
    assert [m for m, _ in report.errors] == ["b.mp4"]
    assert "BadZipFile" in report.errors[0][1]
    assert video_files(tmp_path / "dest", "FVC1") == {"a.mp4", "c.mp4"}


def test_corrupt_archive_reported_next_one_extracts(tmp_path: Path) -> None:
    good = make_zip(tmp_path / "FVC2.zip", [("x.mp4", b"x")])
    bad = make_zip(tmp_path / "FVC1.zip", [("y.mp4", os.urandom(4096))])
    bad.write_bytes(bad.read_bytes()[:2000])
    not_zip = tmp_path / "FVC3.zip"
    not_zip.write_text("not a zip")
    reports = extract_archives([bad, not_zip, good], tmp_path / "dest")
    assert "FVC1.zip" in reports[0].errors[0][1]
    assert "FVC3.zip" in reports[1].errors[0][1]
    assert reports[2].ok and reports[2].extracted == ["x.mp4"]


def test_unwritable_destination_reported(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "FVC1.zip", [("x.mp4", b"x")])
    blocker = tmp_path / "dest"
    blocker.write_text("a file where the destination folder should be")
    report = extract_archive(archive, blocker)
    assert report.extracted == []
    assert "cannot create" in report.errors[0][1]
