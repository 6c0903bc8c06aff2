"""Find annotated videos on disk by file stem, at any depth under a corpus' ``videos/`` folder."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

#: Preferred when several files share a stem (e.g. ``id.mp4`` and ``id.webm``): first wins.
VIDEO_SUFFIXES = (
    ".mp4",
    ".webm",
    ".mkv",
    ".mov",
    ".m4v",
    ".avi",
    ".flv",
    ".3gp",
    ".ts",
    ".mpg",
    ".mpeg",
    ".wmv",
)
#: Downloader side files that share a video's stem but are never the video.
SIDECAR_SUFFIXES = {
    ".json",
    ".part",
    ".ytdl",
    ".tmp",
    ".description",
    ".vtt",
    ".srt",
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".txt",
    ".csv",
}


def index_files(videos_dir: Path) -> dict[str, list[Path]]:
    """Map file stem → candidate files under ``videos_dir`` (recursive, one directory walk)."""
    found: dict[str, list[Path]] = defaultdict(list)
    if not videos_dir.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(videos_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath, name)
            if path.suffix.lower() in SIDECAR_SUFFIXES:
                continue
            found[path.stem].append(path)
    return found


def _rank(path: Path) -> tuple[int, str]:
    suffix = path.suffix.lower()
    order = VIDEO_SUFFIXES.index(suffix) if suffix in VIDEO_SUFFIXES else len(VIDEO_SUFFIXES)
    return order, str(path)


def pick(candidates: list[Path]) -> Path:
    """Choose one file among same-stem candidates: known video suffixes first, then by path."""
    return min(candidates, key=_rank)
