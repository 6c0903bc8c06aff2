"""Content-addressed result cache: stable JSON, file digests, cache keys, atomic writes."""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

log = logging.getLogger("aura.executor")

#: Bump when the cache key recipe or the cache file layout changes.
CACHE_FORMAT = 1


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` on success.

    On an exception the temporary file is removed and ``final`` is left untouched, so a
    reader (or a resumed run) never sees a partial file. The temporary name keeps the
    suffix (``.mp4``, ``.npy``) because writers such as PyAV choose the format from it.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{final.suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_partial(final: str | Path | None, pid: int | None) -> list[Path]:
    """Remove the temporary files that process ``pid`` (killed mid-write) left for ``final``.

    Only :func:`atomic_path` names carrying that pid match, so another live writer of the same
    file (a concurrent run) keeps its own. Returns what was removed.
    """
    if final is None or pid is None:
        return []
    final = Path(final)
    prefix = f".{final.stem}.tmp-{pid}-"
    exact = re.compile(re.escape(prefix) + r"[0-9a-f]{8}" + re.escape(final.suffix))
    removed = []
    for path in final.parent.glob(glob.escape(prefix) + "*"):
        if exact.fullmatch(path.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_text_atomic(final: str | Path, text: str) -> None:
    """Write ``text`` to ``final`` through :func:`atomic_path`."""
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_default(obj: Any) -> Any:
    """JSON fallback for paths, sets and NumPy scalars/arrays (duck-typed: no NumPy import)."""
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def stable_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, no whitespace): equal values give equal text."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
    )


def _digest_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=32)).hexdigest()


def file_digests(paths: Iterable[str], threads: int = 4) -> dict[str, str | OSError]:
    """blake2b of each file's bytes (streamed), or the ``OSError`` that prevented reading it.

    Each distinct (path, size, mtime_ns) is hashed once. Hashing runs on a few threads:
    reading and ``hashlib`` release the GIL on large buffers.
    """
    out: dict[str, str | OSError] = {}
    by_stat: dict[tuple[str, int, int], list[str]] = {}
    for p in dict.fromkeys(paths):
        try:
            st = os.stat(p)
        except OSError as exc:
            out[p] = exc
            continue
        by_stat.setdefault((os.path.realpath(p), st.st_size, st.st_mtime_ns), []).append(p)
    if not by_stat:
        return out

    def one(item: tuple[tuple[str, int, int], list[str]]) -> None:
        ident, names = item
        try:
            d: str | OSError = _digest_file(ident[0])
        except OSError as exc:
            d = exc
        for name in names:
            out[name] = d

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(by_stat)))) as pool:
        list(pool.map(one, by_stat.items()))
    return out


def cache_key(
    stage: str,
    params_json: str,
    key: str,
    args: Mapping[str, Any],
    digest: str | None,
    output: str | None = None,
) -> str:
    """Hash of (format, stage, task key, task args, input content digest, output path, params).

    ``output`` joins the hashed list only when set, so keys of tasks without one are unchanged.
    """
    h = hashlib.blake2b(digest_size=16)
    parts: list[Any] = [CACHE_FORMAT, stage, key, args, digest]
    if output is not None:
        parts.append(output)
    # A JSON list is self-delimiting, so appending the params text keeps the encoding unambiguous.
    h.update(stable_json(parts).encode())
    h.update(params_json.encode())
    return h.hexdigest()


def output_signature(path: str) -> dict[str, Any]:
    """``{"size", "blake2b"}`` of an output file (raises ``OSError`` when it cannot be read)."""
    return {"size": os.stat(path).st_size, "blake2b": _digest_file(path)}


def signature_mismatch(recorded: Any, actual: dict[str, Any] | OSError) -> str | None:
    """Why an output no longer matches its recorded signature, or ``None`` when it does."""
    if not isinstance(recorded, Mapping) or not {"size", "blake2b"} <= recorded.keys():
        return "no size and hash recorded with the cached result"
    if isinstance(actual, FileNotFoundError):
        return "the file is missing"
    if isinstance(actual, OSError):
        return f"unreadable ({type(actual).__name__}: {actual})"
    if actual["size"] != recorded["size"]:
        return f"size {actual['size']} bytes, recorded {recorded['size']}"
    if actual["blake2b"] != recorded["blake2b"]:
        return "content hash differs from the recorded one"
    return None


def output_signatures(
    paths: Iterable[str], threads: int = 4
) -> dict[str, dict[str, Any] | OSError]:
    """:func:`output_signature` of each path (or its ``OSError``), hashed on a few threads."""

    def one(path: str) -> dict[str, Any] | OSError:
        try:
            return output_signature(path)
        except OSError as exc:
            return exc

    unique = list(dict.fromkeys(paths))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(unique)))) as pool:
        return dict(zip(unique, pool.map(one, unique), strict=True))


class ResultStore:
    """One JSON file per result at ``<root>/<key[:2]>/<key>.json``, written atomically.

    A record is ``{"cache_key", "key", "elapsed_s", "result", ...extra}``; extras hold what the
    executor checks before reusing a result (the output file's ``output`` signature, the
    ``task_timeout_s`` a ``timeout`` ran under).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, ckey: str) -> Path:
        return self.root / ckey[:2] / f"{ckey}.json"

    def load(self, ckey: str, task_key: str) -> dict[str, Any] | None:
        """The cached record (its ``result`` checked), or ``None`` when absent, unreadable or
        not the expected record."""
        p = self.path(ckey)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("ignoring unreadable cache file %s: %s", p, exc)
            return None
        try:
            rec = json.loads(text)
        except ValueError:
            log.warning("ignoring corrupt cache file %s (will recompute)", p)
            return None
        res = rec.get("result") if isinstance(rec, dict) else None
        if (
            not isinstance(res, dict)
            or rec.get("cache_key") != ckey
            or rec.get("key") != task_key
            or res.get("key") != task_key
            or "status" not in res
        ):
            log.warning("ignoring invalid cache file %s (will recompute)", p)
            return None
        return rec

    def save(
        self,
        ckey: str,
        task_key: str,
        result: Mapping[str, Any],
        elapsed_s: float | None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        rec = {
            **(extra or {}),
            "cache_key": ckey,
            "key": task_key,
            "elapsed_s": elapsed_s,
            "result": result,
        }
        write_text_atomic(
            self.path(ckey), json.dumps(rec, ensure_ascii=False, default=json_default)
        )
