"""Run identity for reports and MLflow tags: a hash of the resolved config and the git commit."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def config_hash(params: Mapping[str, Any], length: int = 12) -> str:
    """SHA-256 (first ``length`` hex digits) of the parameters as canonical JSON."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def git_commit(path: str | Path) -> str | None:
    """``HEAD`` of the repository holding ``path`` with ``-dirty`` when tracked files changed;
    ``None`` outside a git checkout or without git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("-dirty" if dirty else "")
