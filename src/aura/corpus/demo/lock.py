"""An exclusive lock file that says who holds it, so concurrent runs wait instead of colliding.

``fcntl.flock`` is released by the OS when the holder exits or crashes, so a lock can never go
stale. The holder deletes the file before releasing it; a waiter that locked a deleted file sees
that its inode is no longer the one at the path and tries again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("aura.corpus.demo")

POLL_S = 0.2


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return text or "another process"


def _try_lock(path: Path) -> int | None:
    """A locked descriptor of the file now at ``path``, or None if someone else holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    try:
        current = os.stat(path).st_ino
    except FileNotFoundError:
        current = None
    if current != os.fstat(fd).st_ino:  # the holder removed it after our open: not a lock now
        os.close(fd)
        return None
    return fd


@contextmanager
def exclusive(path: Path, timeout_s: float, what: str) -> Iterator[None]:
    """Hold the lock file ``path`` (waiting at most ``timeout_s``); it names this process.

    Raises:
        TimeoutError: another process held it for longer than ``timeout_s``; names the holder.
    """
    deadline = time.monotonic() + timeout_s
    waiting = False
    while (fd := _try_lock(path)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{path}: {_holder(path)} has held this lock for over {timeout_s:.0f} s "
                f"({what}); wait for it to finish, or stop it if it is stuck"
            )
        if not waiting:
            log.info("waiting for %s (%s; lock %s)", _holder(path), what, path)
            waiting = True
        time.sleep(POLL_S)
    try:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # before the unlock: waiters then retry on a fresh file
        os.close(fd)
