"""Peak resident memory of the current process, shared by the bench scripts."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak RSS in MiB: ``VmHWM`` first, because after a vfork+exec (how ``subprocess``
    starts a worker) ``ru_maxrss`` also holds the parent's peak; ``ru_maxrss`` elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
