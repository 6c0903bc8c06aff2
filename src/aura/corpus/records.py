"""What ``aura setup-fvc`` wrote, one JSON record per archive stem in ``DEST/.aura-setup/``.

A record lists every file the extractor holds under ``DEST/videos/`` (path relative to DEST,
size, CRC-32, mtime, and whether this tool wrote it or found it already there), the folders it
created and the archives it came from. Extraction uses it to skip unchanged members without
re-hashing; ``aura teardown-fvc`` uses it to remove exactly what was extracted.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_DIR = ".aura-setup"
RECORD_FORMAT = 2
CHUNK_SIZE = 1 << 20
#: An archive stem becomes a folder name: a letter or digit first, then a plain set of characters.
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+()\[\]-]*$")


def check_stem(stem: str) -> str | None:
    """Why ``stem`` cannot name ``DEST/videos/<stem>/`` (None when it can)."""
    if not stem or stem in (".", ".."):
        return "its name leaves an empty, '.' or '..' folder name"
    if not _STEM.match(stem) or stem.endswith((".", " ")):
        return (
            "its name must start with a letter or digit and hold only letters, digits, "
            "spaces and ._+()[]- (no separators, no hidden or trailing-dot names)"
        )
    return None


def file_crc32(path: Path) -> int:
    """CRC-32 of a file, streamed."""
    crc = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            crc = zlib.crc32(chunk, crc)
    return crc


def state_dir(dest: Path) -> Path:
    """``DEST/.aura-setup``; refuses one that is a symlink or resolves elsewhere."""
    folder = dest / STATE_DIR
    if folder.is_symlink() or (
        folder.exists()
        and Path(os.path.realpath(folder)) != Path(os.path.realpath(dest)) / STATE_DIR
    ):
        raise OSError(f"{folder} is a symlink or resolves outside {dest}; not using it")
    return folder


class ExtractionRecord:
    """The record of one archive stem; ``files`` keys are POSIX paths relative to DEST.

    As a cache an entry counts only if the file on disk still has the recorded size and mtime
    and the zip declares the recorded CRC; otherwise the file is hashed.
    """

    def __init__(self, dest: Path, stem: str) -> None:
        self.path = state_dir(dest) / f"{stem}.json"
        self.files: dict[str, dict[str, Any]] = {}
        self.dirs: list[str] = []
        self.archives: list[str] = []
        self.dirty = False
        data = read_record(self.path)
        if data is not None:
            self.files = legacy_files(data, stem) if "format" not in data else data["files"]
            self.dirs = list(data.get("dirs", []))
            self.archives = list(data.get("archives", []))

    def matches(self, key: str, target: Path, info: zipfile.ZipInfo) -> bool:
        """True when ``target`` already holds exactly this member's bytes."""
        try:
            st = os.stat(target, follow_symlinks=False)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or st.st_size != info.file_size:
            return False
        entry = self.files.get(key, {})
        if [entry.get("size"), entry.get("crc"), entry.get("mtime_ns")] == [
            info.file_size,
            info.CRC,
            st.st_mtime_ns,
        ]:
            return True
        if file_crc32(target) != info.CRC:
            return False
        # Found with the right bytes: ours only if a record already says this tool wrote it.
        self.add_file(key, target, info, written=bool(entry.get("written")))
        return True

    def add_file(self, key: str, target: Path, info: zipfile.ZipInfo, *, written: bool) -> None:
        """Record ``target`` (the member ``info``); ``written``: this tool wrote its bytes."""
        self.files[key] = {
            "size": info.file_size,
            "crc": info.CRC,
            "mtime_ns": target.stat().st_mtime_ns,
            "written": written,
        }
        self.dirty = True

    def add_dir(self, key: str) -> None:
        """Record a folder this tool created."""
        if key not in self.dirs:
            self.dirs.append(key)
            self.dirty = True

    def add_archive(self, archive: Path) -> None:
        """Record the archive's resolved path (teardown never removes it)."""
        path = os.path.realpath(archive)
        if path not in self.archives:
            self.archives.append(path)
            self.dirty = True

    def save(self) -> None:
        """Write the record atomically; a failure is logged (it only costs re-hashing)."""
        if not self.dirty:
            return
        data = {
            "format": RECORD_FORMAT,
            "archives": self.archives,
            "dirs": self.dirs,
            "files": self.files,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, sort_keys=True, indent=1))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("could not write extraction record %s: %s", self.path, exc)


def read_record(path: Path) -> dict[str, Any] | None:
    """A record's JSON (a current or legacy one), or None when missing or unreadable."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(loaded, dict):
        return None
    if "format" in loaded and not isinstance(loaded.get("files"), dict):
        return None
    return loaded


def legacy_files(data: dict[str, Any], stem: str) -> dict[str, dict[str, Any]]:
    """Entries of a format-1 record (``member -> [size, crc, mtime_ns]``), keyed from DEST.

    Format 1 did not say who wrote a file; its files count as extracted by this tool.
    """
    out = {}
    for member, value in data.items():
        if isinstance(value, list) and len(value) == 3:
            size, crc, mtime = value
            out[f"videos/{stem}/{member}"] = {
                "size": size,
                "crc": crc,
                "mtime_ns": mtime,
                "written": True,
            }
    return out
