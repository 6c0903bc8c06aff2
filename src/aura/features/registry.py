"""Registry of feature groups: the single source of truth for feature names and their docs.

A group is a pure function ``FrameSet -> dict[str, float]`` registered with
:func:`feature_group`, which declares every feature it returns with a one-line description.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aura.features.frameset import FrameSet

GroupFn = Callable[["FrameSet"], dict[str, float]]

#: Feature name -> one-line description of what it measures (all groups, stable order).
FEATURES: dict[str, str] = {}

#: Column order: groups in this order, features in declaration order within a group.
GROUP_ORDER = ("noise", "dct", "blur", "blocking", "temporal", "codec")


@dataclass(frozen=True)
class Group:
    """A registered feature group."""

    name: str
    fn: GroupFn
    features: tuple[str, ...]


GROUPS: dict[str, Group] = {}


def feature_group(name: str, features: dict[str, str]) -> Callable[[GroupFn], GroupFn]:
    """Register ``fn`` as group ``name`` returning exactly the keys of ``features``."""

    def register(fn: GroupFn) -> GroupFn:
        if name in GROUPS:
            raise ValueError(f"feature group {name!r} registered twice")
        clash = sorted(set(features) & set(FEATURES))
        if clash:
            raise ValueError(f"group {name!r} redefines features {clash}")
        empty = [k for k, doc in features.items() if not doc.strip()]
        if empty:
            raise ValueError(f"group {name!r}: features without a description: {empty}")
        GROUPS[name] = Group(name, fn, tuple(features))
        ordered = sorted(GROUPS.values(), key=_group_rank)
        docs = {**FEATURES, **features}
        FEATURES.clear()
        FEATURES.update({k: docs[k] for g in ordered for k in g.features})
        return fn

    return register


def _group_rank(group: Group) -> tuple[int, str]:
    rank = GROUP_ORDER.index(group.name) if group.name in GROUP_ORDER else len(GROUP_ORDER)
    return rank, group.name


def feature_names(prefix: str = "") -> list[str]:
    """All feature names in the stable column order, optionally prefixed (e.g. ``"s4_"``)."""
    return [prefix + k for k in FEATURES]


def run_groups(fs: FrameSet) -> dict[str, float]:
    """Every registered group on ``fs``; values are Python floats, NaN where undefined."""
    out: dict[str, float] = {}
    for group in sorted(GROUPS.values(), key=_group_rank):
        values = group.fn(fs)
        if set(values) != set(group.features):
            missing = sorted(set(group.features) - set(values))
            extra = sorted(set(values) - set(group.features))
            raise RuntimeError(f"group {group.name!r}: missing {missing}, undeclared {extra}")
        out.update({k: float(values[k]) for k in group.features})
    return {k: out[k] for k in FEATURES}
