"""Video ids: one safe alphabet for source ids, and variant ids no source id can spell.

Source ids (FVC's YouTube/Facebook/Twitter ids, manifest ids) use only ``SOURCE_ID_CHARS`` and
never start with a dot, so they are safe file names on every OS. A variant id is
``<source id>~v<k>``: ``~`` is outside that alphabet, so no file name can forge one.

A manifest id is an injective encoding of the file's path: characters of ``[A-Za-z0-9._-]`` stay
as they are, ``/`` becomes ``==`` and any other character ``=<hex code point>=`` (a leading
``.`` or ``-`` too, so no id is a hidden or option-like file name). Two different paths never
share an id. Ids over ``MAX_ID_LENGTH`` become ``=h<sha256/128 bits>=<tail>``; the ``=h`` start
never occurs in the plain encoding, so they cannot collide with a plain id either.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Iterable

import polars as pl

#: Every character a source id may contain.
SOURCE_ID_CHARS = frozenset(string.ascii_letters + string.digits + "._-=")
VARIANT_SEP = "~v"
MAX_ID_LENGTH = 160
_KEEP = frozenset(string.ascii_letters + string.digits + "._-")
_SOURCE_ID = re.compile(r"^[A-Za-z0-9_=-][A-Za-z0-9._=-]*$")
_TAIL = 100


def is_source_id(value: object) -> bool:
    """Whether ``value`` is a valid source id (the one place this is decided)."""
    return isinstance(value, str) and bool(_SOURCE_ID.match(value))


def check_source_ids(ids: Iterable[object], where: str) -> None:
    """Raise ``ValueError`` naming ``where`` and the first bad ids if any id is not a source id."""
    bad = sorted({repr(i) for i in ids if not is_source_id(i)})
    if bad:
        raise ValueError(
            f"{where}: {len(bad)} video ids outside [A-Za-z0-9._=-] (or starting with '.'): "
            f"{', '.join(bad[:5])}; re-run the ingest pipeline"
        )


def variant_id(source_id: str, variant: int) -> str:
    """``<source id>~v<variant>``."""
    return f"{source_id}{VARIANT_SEP}{int(variant)}"


def variant_id_expr(source: str, variant: str) -> pl.Expr:
    """The polars expression of :func:`variant_id` over two columns."""
    return pl.format("{}" + VARIANT_SEP + "{}", pl.col(source), pl.col(variant))


def encode_path(path: str) -> str:
    """The injective, file-name-safe id of a POSIX path (see the module docstring)."""
    out = []
    for i, char in enumerate(path):
        if char == "/":
            out.append("==")
        elif char in _KEEP and not (i == 0 and char in ".-"):
            out.append(char)
        else:
            out.append(f"={ord(char):x}=")
    encoded = "".join(out)
    if len(encoded) <= MAX_ID_LENGTH:
        return encoded
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    tail = encoded[-_TAIL:].lstrip(".-")
    return f"=h{digest}={tail}"
