"""Undo ``aura setup-fvc``: remove exactly the files it extracted, as its records list them.

A recorded file is removed only when it still resolves inside ``DEST/videos/``, this tool wrote
it, and its size and CRC-32 are still the recorded ones. Everything else stays and is reported
with the reason: files placed by the user (even inside ``videos/``), files changed since, files
found already there at extraction, the archives themselves. A record entry that points outside
``DEST/videos/`` (a tampered record) is refused by name. Empty folders the extractor created
are removed; the records go last, only when nothing went wrong for them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aura.corpus.records import STATE_DIR, file_crc32, legacy_files, read_record, state_dir


@dataclass
class TeardownReport:
    """What was (``dry_run``: would be) removed and what was kept, with reasons."""

    dest: Path
    dry_run: bool
    removed: list[tuple[str, int]] = field(default_factory=list)  # (path from DEST, size)
    folders: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    n_records: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was refused and nothing failed."""
        return not self.refused and not self.errors


@dataclass
class _Record:
    path: Path
    files: dict[str, dict[str, Any]]
    dirs: list[str]
    archives: list[str]
    trouble: bool = False


def _load_records(folder: Path, report: TeardownReport) -> list[_Record]:
    records = []
    for path in sorted(folder.glob("*.json")):
        data = read_record(path)
        if data is None:
            report.errors.append((_rel(path, report.dest), "unreadable record; kept"))
            continue
        files = data["files"] if "format" in data else legacy_files(data, path.stem)
        dirs = list(data.get("dirs", []))
        archives = [a for a in data.get("archives", []) if isinstance(a, str)]
        records.append(_Record(path, files, dirs, archives))
    return records


def _rel(path: Path, dest: Path) -> str:
    return path.relative_to(dest).as_posix() if path.is_relative_to(dest) else str(path)


def _inside(dest: Path, videos: Path, key: object, folder: bool = False) -> Path | str:
    """The resolved path of a record key, or why it is refused."""
    parts = key.split("/") if isinstance(key, str) else []
    if not parts or parts[0] != "videos" or any(p in ("", ".", "..") for p in parts):
        return "not a relative path under videos/"
    real = Path(os.path.realpath(dest / key))  # type: ignore[operator]
    if not real.is_relative_to(videos) or (real == videos and not folder):
        return f"resolves to {real}, outside {dest / 'videos'}"
    return real


def _verdict(real: Path, entry: dict[str, Any], archives: set[str]) -> tuple[str, str | int]:
    """``("remove", size)``, ``("gone", "")`` or ``("keep", reason)`` for one recorded file."""
    if str(real) in archives:
        return "keep", "it is an archive setup-fvc read"
    if not entry.get("written"):
        return "keep", "it was already there at extraction (not written by setup-fvc)"
    try:
        st = os.stat(real, follow_symlinks=False)
    except FileNotFoundError:
        return "gone", ""
    if not stat.S_ISREG(st.st_mode):
        return "keep", "no longer a regular file"
    if st.st_size != entry.get("size") or file_crc32(real) != entry.get("crc"):
        return "keep", "changed since extraction (size or CRC-32 differ)"
    return "remove", st.st_size


def teardown(dest: str | os.PathLike[str], *, dry_run: bool = True) -> TeardownReport:
    """Remove (or, with ``dry_run``, list) what ``setup-fvc`` extracted into ``dest``."""
    dest = Path(dest)
    report = TeardownReport(dest=dest, dry_run=dry_run)
    try:
        folder = state_dir(dest)
    except OSError as exc:
        report.errors.append((STATE_DIR, str(exc)))
        return report
    if not folder.is_dir():
        return report
    videos = Path(os.path.realpath(dest / "videos"))
    records = _load_records(folder, report)
    report.n_records = len(records)
    archives = {a for r in records for a in r.archives}
    gone: set[Path] = set()
    recorded: set[Path] = set()
    folders: dict[str, Path] = {}
    for record in records:
        for key in record.dirs:
            real = _inside(dest, videos, key, folder=True)
            if isinstance(real, str):
                report.refused.append((str(key), f"folder {real} (record {record.path.name})"))
                record.trouble = True
            else:
                folders[key] = real
        for key, entry in sorted(record.files.items()):
            real = _inside(dest, videos, key)
            if isinstance(real, str):
                report.refused.append((str(key), f"{real} (record {record.path.name})"))
                record.trouble = True
                continue
            recorded.add(real)
            action, detail = _verdict(real, entry if isinstance(entry, dict) else {}, archives)
            if action == "keep":
                report.kept.append((key, str(detail)))
            elif action == "remove":
                if not dry_run:
                    try:
                        os.unlink(real)
                    except OSError as exc:
                        report.errors.append((key, str(exc)))
                        record.trouble = True
                        continue
                gone.add(real)
                report.removed.append((key, int(detail)))
    _report_unrecorded(dest, videos, recorded, report)
    _remove_folders(dest, folders, gone, report)
    for record in records:
        if record.trouble:
            continue
        if not dry_run:
            record.path.unlink(missing_ok=True)
        report.records.append(_rel(record.path, dest))
    if not dry_run:
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty: records kept for trouble, or someone else's files
    return report


def _report_unrecorded(
    dest: Path, videos: Path, recorded: set[Path], report: TeardownReport
) -> None:
    """Files under ``videos/`` that no record lists: kept, and said so."""
    for dirpath, _dirs, names in os.walk(dest / "videos"):
        for name in sorted(names):
            path = Path(dirpath, name)
            if Path(os.path.realpath(path)) not in recorded:
                report.kept.append((_rel(path, dest), "not extracted by setup-fvc"))


def _remove_folders(
    dest: Path, folders: dict[str, Path], gone: set[Path], report: TeardownReport
) -> None:
    """Remove recorded folders left empty, deepest first (in a dry run: those that would be)."""
    for key in sorted(folders, key=lambda k: (-k.count("/"), k)):
        real = folders[key]
        path = dest / key
        if path.is_symlink() or not path.is_dir():
            continue
        if any(real / name not in gone for name in os.listdir(path)):
            continue
        if not report.dry_run:
            try:
                path.rmdir()
            except OSError as exc:
                report.errors.append((key, str(exc)))
                continue
        gone.add(real)
        report.folders.append(key)
