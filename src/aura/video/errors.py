"""The one error type the video layer raises for input it cannot use."""

from __future__ import annotations

from pathlib import Path


class VideoDecodeError(RuntimeError):
    """A file could not be opened, probed or decoded as a video.

    ``reason`` is a short machine-readable tag (``missing``, ``empty``, ``unreadable``,
    ``not_video``, ``too_large``, ``corrupt``, ``encode``); ``str(err)`` names the file and the cause.
    """

    def __init__(self, path: str | Path, reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        msg = f"{self.path}: {reason}"
        super().__init__(f"{msg}: {detail}" if detail else msg)


#: ``VideoDecodeError.reason`` → the ``status`` of a row (``video_index``, predictions).
STATUS_OF_REASON = {
    "missing": "missing_file",
    "empty": "empty_file",
    "unreadable": "unreadable",
    "not_video": "not_video",
    "too_large": "too_large",
    "corrupt": "corrupt",
}
