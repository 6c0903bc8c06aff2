"""Safe, idempotent extraction of the FVC zip archives into ``DEST/videos/<stem>/``.

Every member goes through the same gauntlet before a byte is written: its name
must stay inside the target folder, it must be a plain file or folder (no
symlinks, devices, fifos), unencrypted, and within the size, total-size and
compression-ratio caps. The caps are enforced again on the bytes actually
streamed out, because zip headers can lie. Each file is written to a temp file
next to its target and moved into place with ``os.replace``, so a refusal, an
error or an interrupt never leaves a partial file behind.

Refused and failed members are reported and skipped; the rest still extract.
A re-run skips members already on disk with the same size and CRC-32. An archive whose stem
cannot name a folder (``..``, hidden, with separators) is refused whole, and every write path
must resolve inside ``DEST/videos/<stem>/``. What was written is recorded per stem
(``aura.corpus.records``) so that ``aura teardown-fvc`` can remove exactly that.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from aura.corpus.records import STATE_DIR, ExtractionRecord, check_stem, file_crc32

__all__ = ["STATE_DIR", "file_crc32"]  # re-exported: they used to live here

log = logging.getLogger(__name__)

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

DEFAULT_MAX_MEMBER_SIZE = 4 * GiB
DEFAULT_MAX_TOTAL_SIZE = 64 * GiB
DEFAULT_MAX_RATIO = 200
DEFAULT_RATIO_MIN_SIZE = 1 * MiB
DEFAULT_MAX_MEMBERS = 100_000

CHUNK_SIZE = 1 * MiB
PROGRESS_MIN_BYTES = 64 * MiB
_IGNORED_TOP = "__MACOSX"
_SPECIAL_TYPES = {
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": KiB, "m": MiB, "g": GiB, "t": 1024 * GiB}


@dataclass(frozen=True)
class ExtractLimits:
    """Safety caps; sizes are uncompressed bytes, the total is per archive."""

    max_member_size: int = DEFAULT_MAX_MEMBER_SIZE
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE
    max_ratio: float = DEFAULT_MAX_RATIO
    ratio_min_size: int = DEFAULT_RATIO_MIN_SIZE
    max_members: int = DEFAULT_MAX_MEMBERS


@dataclass
class ExtractReport:
    """What happened to one archive. Members are named as in the zip."""

    archive: Path
    target: Path
    extracted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # member is "" for the archive
    ignored: list[str] = field(default_factory=list)  # __MACOSX/ resource forks
    bytes_written: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was refused and nothing failed."""
        return not self.refused and not self.errors


class RefusedMember(Exception):
    """A member that fails a safety check; the message is the reason."""


def parse_size(text: str | int) -> int:
    """Parse ``"500M"``, ``"4GiB"``, ``"1.5g"`` or ``"1024"`` into bytes (binary units)."""
    if isinstance(text, int):
        value = text
    else:
        match = _SIZE_RE.match(text)
        if not match:
            raise ValueError(f"invalid size {text!r}: use e.g. 1024, 500M, 4G, 4GiB")
        value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return value


def format_size(n: int) -> str:
    """Human-readable binary size, e.g. ``3.2 GiB``."""
    if n < 1024:
        return f"{n} B"
    units = ("KiB", "MiB", "GiB", "TiB")
    size, i = n / 1024, 0
    while size >= 1024 and i < len(units) - 1:
        size, i = size / 1024, i + 1
    return f"{size:.1f} {units[i]}"


def safe_parts(name: str) -> list[str]:
    """Split a member name into path components, refusing absolute or escaping names."""
    norm = name.replace("\\", "/")
    if not norm or "\x00" in norm:
        raise RefusedMember("empty name or NUL byte in name")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise RefusedMember("absolute path")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise RefusedMember("path traversal ('..' component)")
    return parts


def check_member_type(info: zipfile.ZipInfo) -> None:
    """Refuse symlinks, device/fifo/socket members and encrypted members."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise RefusedMember("symlink member")
    if kind in _SPECIAL_TYPES:
        raise RefusedMember(f"{_SPECIAL_TYPES[kind]} member")
    if info.flag_bits & 0x1:
        raise RefusedMember("encrypted member")


def check_member_size(info: zipfile.ZipInfo, limits: ExtractLimits, budget: int) -> None:
    """Refuse members whose declared sizes break a cap (``budget``: bytes left in the total)."""
    size = info.file_size
    if size > limits.max_member_size:
        raise RefusedMember(
            f"size {format_size(size)} exceeds max member size {format_size(limits.max_member_size)}"
        )
    if size > limits.ratio_min_size and size > limits.max_ratio * max(info.compress_size, 1):
        ratio = size / max(info.compress_size, 1)
        raise RefusedMember(f"compression ratio {ratio:.0f}:1 exceeds {limits.max_ratio:g}:1")
    if size > budget:
        raise RefusedMember(
            f"would exceed max total size {format_size(limits.max_total_size)} for this archive"
        )


def copy_capped(
    src: IO[bytes],
    dst: IO[bytes],
    limit: int,
    on_chunk: Callable[[int], object] | None = None,
) -> int:
    """Copy ``src`` to ``dst``; refuse as soon as more than ``limit`` bytes come out."""
    written = 0
    while chunk := src.read(CHUNK_SIZE):
        written += len(chunk)
        if written > limit:
            raise RefusedMember(f"decompressed stream exceeds {limit} bytes")
        dst.write(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))
    return written


def strip_prefix(entries: Iterable[tuple[list[str], bool]], stem: str) -> bool:
    """True when every ``(parts, is_dir)`` entry sits under one top folder named like ``stem``."""
    entries = [(parts, is_dir) for parts, is_dir in entries if parts]
    if not entries:
        return False
    return all(
        parts[0].casefold() == stem.casefold() and (len(parts) > 1 or is_dir)
        for parts, is_dir in entries
    )


def _write_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limit: int,
    on_chunk: Callable[[int], object] | None,
) -> int:
    """Stream one member to a temp file beside ``target`` and move it into place.

    The stream may yield neither more nor fewer bytes than the (already capped)
    declared size; a header declaring too few bytes also fails zipfile's CRC check.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".aura-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as dst, zf.open(info) as src:
            written = copy_capped(src, dst, limit, on_chunk)
        if written != info.file_size:
            raise RefusedMember(
                f"size mismatch: header declares {info.file_size} bytes, stream has {written}"
            )
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return written


def extract_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    limits: ExtractLimits | None = None,
    progress: bool | None = None,
) -> ExtractReport:
    """Extract one zip into ``dest/videos/<archive stem>/``; never raises for bad input.

    ``progress``: True/False forces the tqdm bar on/off, None shows it on a TTY
    for archives above ``PROGRESS_MIN_BYTES``.
    """
    limits = limits or ExtractLimits()
    archive = Path(archive)
    dest = Path(dest)
    stem = archive.stem
    root = dest / "videos" / stem
    report = ExtractReport(archive=archive, target=root)
    if why := check_stem(stem):
        report.errors.append(("", f"refusing archive {archive.name!r}: {why}"))
        return report
    try:
        zf = zipfile.ZipFile(archive)
    except Exception as exc:  # not a zip, truncated, unreadable: report, go on with the next
        report.errors.append(("", f"cannot open {archive.name} as a zip: {exc}"))
        return report
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            report.errors.append(
                ("", f"{len(infos)} members exceeds max members {limits.max_members}")
            )
            return report
        try:
            record = ExtractionRecord(dest, stem)
            _check_root(dest, root)
            make_dirs(dest, root, record)
            _check_root(dest, root)
        except (OSError, RefusedMember) as exc:
            report.errors.append(("", f"cannot create {root}: {exc}"))
            return report
        record.add_archive(archive)
        try:
            _extract_members(zf, infos, dest, limits, record, report, progress)
        finally:
            record.save()
    return report


def _check_root(dest: Path, root: Path) -> None:
    """Refuse a target folder that does not resolve to a folder strictly inside DEST/videos."""
    videos = Path(os.path.realpath(dest / "videos"))
    real = Path(os.path.realpath(root))
    if real == videos or not real.is_relative_to(videos):
        raise RefusedMember(f"it resolves to {real}, outside {dest / 'videos'}")


def make_dirs(dest: Path, folder: Path, record: ExtractionRecord) -> None:
    """``mkdir -p folder``, recording (relative to DEST) each folder this call created."""
    missing = []
    current = folder
    while current != dest and not current.exists() and not current.is_symlink():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    for path in reversed(missing):
        record.add_dir(path.relative_to(dest).as_posix())


def _extract_members(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    dest: Path,
    limits: ExtractLimits,
    record: ExtractionRecord,
    report: ExtractReport,
    progress: bool | None,
) -> None:
    # Names are validated before the stem-folder decision so that a refused
    # member cannot change where the good ones land.
    parsed: list[tuple[zipfile.ZipInfo, list[str] | str]] = []
    for info in infos:
        try:
            parts = safe_parts(info.filename)
        except RefusedMember as exc:
            parsed.append((info, str(exc)))
            continue
        if parts and parts[0] == _IGNORED_TOP:
            report.ignored.append(info.filename)
            continue
        parsed.append((info, parts))
    root = report.target
    real_root = Path(os.path.realpath(root))
    strip = strip_prefix(
        ((p, i.is_dir()) for i, p in parsed if isinstance(p, list)), report.archive.stem
    )

    from tqdm import tqdm

    total_declared = sum(i.file_size for i, p in parsed if isinstance(p, list) and not i.is_dir())
    disable = (not progress) if progress is not None else None
    if progress is None and total_declared < PROGRESS_MIN_BYTES:
        disable = True
    budget = limits.max_total_size
    seen: set[str] = set()
    with tqdm(
        total=total_declared,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=report.archive.name,
        disable=disable,
        leave=False,
    ) as bar:
        for info, parts in parsed:
            name = info.filename
            try:
                if isinstance(parts, str):
                    raise RefusedMember(parts)
                check_member_type(info)
                rel = parts[1:] if strip else parts
                if not rel:
                    continue  # the stripped top-level folder itself
                target = root.joinpath(*rel)
                if not Path(os.path.realpath(target)).is_relative_to(real_root):
                    raise RefusedMember("resolves outside the destination")
                if info.is_dir():
                    make_dirs(dest, target, record)
                    continue
                key = target.relative_to(dest).as_posix()
                if key.casefold() in seen:
                    raise RefusedMember("duplicate entry for the same path")
                seen.add(key.casefold())
                check_member_size(info, limits, budget)
                if record.matches(key, target, info):
                    report.skipped.append(name)
                    bar.update(info.file_size)
                else:
                    make_dirs(dest, target.parent, record)
                    if not Path(os.path.realpath(target)).is_relative_to(real_root):
                        raise RefusedMember("resolves outside the destination")
                    written = _write_member(zf, info, target, info.file_size, bar.update)
                    record.add_file(key, target, info, written=True)
                    report.extracted.append(name)
                    report.bytes_written += written
                budget -= info.file_size
            except RefusedMember as exc:
                report.refused.append((name, str(exc)))
            except Exception as exc:  # corrupt data, CRC, I/O: report, keep the other members
                report.errors.append((name, f"{type(exc).__name__}: {exc}"))


def extract_archives(
    archives: Iterable[str | os.PathLike[str]],
    dest: str | os.PathLike[str],
    limits: ExtractLimits | None = None,
    progress: bool | None = None,
) -> list[ExtractReport]:
    """Extract each archive in turn; one failing archive never stops the others."""
    return [extract_archive(a, dest, limits, progress) for a in archives]
