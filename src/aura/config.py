"""The one idiom for parameter blocks: frozen pydantic models that refuse unknown keys by name.

Every block of ``conf/*/parameters*.yml`` is a :class:`Section`; :func:`parse` (or
``Section.from_params``) turns a mapping into it and a :class:`ConfigError` that lists each bad
key by its dotted path, with the closest valid key for a typo::

    scaling.target_sise: unknown key; did you mean scaling.target_size?
    training.n_folds must be >= 2, got 1

Defaults live in the section classes, nowhere else. Strings as given on the command line
(``"3"``, ``"true"``, ``"null"``) are accepted for numbers, booleans and optional fields.
Validators that check one field against another raise :class:`FieldProblem` to name the field.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

S = TypeVar("S", bound="Section")
Loc = tuple[str | int, ...]
_NO_VALUE = object()
_NULL_WORDS = ("null", "none", "~")


@dataclass(frozen=True)
class Problem:
    """One bad key: where (``loc`` below the section), what is wrong, and the offending value.

    For an unknown key, ``valid`` holds the keys allowed at that level.
    """

    loc: Loc
    message: str
    value: Any = _NO_VALUE
    valid: tuple[str, ...] | None = None

    def under(self, outer: Loc) -> Problem:
        return Problem(outer + self.loc, self.message, self.value, self.valid)

    def render(self, prefix: str) -> str:
        path = dotted(prefix, self.loc) or "parameters"
        if self.valid is not None:
            hint = suggest(str(self.loc[-1]), self.valid, dotted(prefix, self.loc[:-1]))
            return f"{path}: unknown key; {hint}"
        got = "" if self.value is _NO_VALUE else f", got {self.value!r}"
        return f"{path} {self.message}{got}"


class ConfigError(ValueError):
    """Bad parameters; ``problems`` holds each one, the message names every key."""

    def __init__(self, problems: Sequence[Problem], prefix: str = "") -> None:
        self.problems = list(problems)
        self.prefix = prefix
        lines = [p.render(prefix) for p in self.problems]
        text = (
            lines[0]
            if len(lines) == 1
            else f"{len(lines)} problems in the parameters:\n"
            + ("\n".join(f"  - {line}" for line in lines))
        )
        super().__init__(text)


class UnknownKeyError(ConfigError, TypeError):
    """A :class:`ConfigError` with at least one unknown key (a ``TypeError`` too, like an
    unexpected keyword argument)."""


class FieldProblem(ValueError):
    """Raised inside a validator to blame a field (``loc`` below the model being validated)."""

    def __init__(
        self,
        loc: str | Loc,
        message: str,
        value: Any = _NO_VALUE,
        valid: Sequence[str] | None = None,
    ) -> None:
        self.loc: Loc = (loc,) if isinstance(loc, str) else tuple(loc)
        self.message = message
        self.value = value
        self.valid = None if valid is None else tuple(valid)
        super().__init__(f"{'.'.join(map(str, self.loc))} {message}")


def dotted(prefix: str, loc: Loc) -> str:
    """``prefix`` and ``loc`` as one dotted path (``training.model_params.svm.C``)."""
    parts = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def suggest(key: str, valid: Sequence[str], parent: str = "") -> str:
    """``did you mean <parent>.<closest>?`` or, with nothing close, the valid keys."""
    by_lower = {v.lower(): v for v in valid}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"did you mean {parent + '.' if parent else ''}{by_lower[close[0]]}?"
    return f"valid keys: {', '.join(sorted(valid)) or 'none'}"


def unknown_key(loc: str | Loc, valid: Sequence[str]) -> FieldProblem:
    """A :class:`FieldProblem` for an unknown key at ``loc`` (validators of free-form maps)."""
    return FieldProblem(loc, "unknown key", valid=valid)


def missing_key(prefix: str, key: str, why: str) -> ConfigError:
    """The error for a setting that must be given (``<prefix>.<key> is required: <why>``)."""
    return ConfigError([Problem((key,), f"is required: {why}")], prefix)


_PHRASES = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "multiple_of": "must be a multiple of {multiple_of}",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping of settings",
    "model_type": "must be a mapping of settings",
    "model_attributes_type": "must be a mapping of settings",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "too_short": "must have at least {min_length} items",
    "string_too_short": "must be at least {min_length} character(s) long",
    "too_long": "must have at most {max_length} items",
    "missing": "is required",
}


def _field_names(model: type[BaseModel], loc: Loc) -> tuple[str, ...] | None:
    """Keys valid at ``loc`` inside ``model`` (following nested sections), if it is a model."""
    current: Any = model
    for part in loc:
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return None
        current = _unwrap(field.annotation)
    return tuple(current.model_fields) if _is_model(current) else None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _unwrap(tp: Any) -> Any:
    """``X`` from ``X | None``; other types unchanged."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def problems_of(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Each pydantic error as a :class:`Problem` with its path below ``model``."""
    out: list[Problem] = []
    for err in error.errors():
        loc: Loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, ConfigError):
            out.extend(p.under(loc) for p in inner.problems)
        elif isinstance(inner, FieldProblem):
            out.append(Problem(loc + inner.loc, inner.message, inner.value, inner.valid))
        elif err["type"] == "extra_forbidden":
            out.append(Problem(loc, "unknown key", valid=_field_names(model, loc[:-1]) or ()))
        elif err["type"] == "value_error":
            out.append(Problem(loc, str(inner) if inner else err["msg"], err["input"]))
        else:
            phrase = _PHRASES.get(err["type"])
            if err["type"] == "string_too_short" and ctx.get("min_length") == 1:
                phrase = "must not be empty"
            tidy = {
                k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()
            }
            text = phrase.format(**tidy) if phrase else err["msg"][:1].lower() + err["msg"][1:]
            value = _NO_VALUE if err["type"] == "missing" else err["input"]
            out.append(Problem(loc, text, value))
    return out


def parse(model: type[S], params: Any, prefix: str = "") -> S:
    """Validate ``params`` (a mapping, ``None`` for all defaults, or already a ``model``) into a
    ``model``; raise :class:`ConfigError` naming each bad key as ``<prefix>.<path>``."""
    if isinstance(params, model):
        return params
    if params is None:
        params = {}
    if isinstance(params, BaseModel):
        params = params.model_dump()
    if not isinstance(params, Mapping):
        kind = type(params).__name__
        raise ConfigError([Problem((), f"must be a mapping of settings, not a {kind}")], prefix)
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        problems = problems_of(exc, model)
        unknown = any(p.valid is not None for p in problems)
        raise (UnknownKeyError if unknown else ConfigError)(problems, prefix) from None


def plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every :class:`Section` value dumped to JSON-able values (for hashing)."""
    return {
        k: v.model_dump(mode="json") if isinstance(v, Section) else v for k, v in params.items()
    }


class Section(BaseModel):
    """Base of every parameter block: frozen, unknown keys refused, defaults in the fields.

    ``PREFIX`` is where the block sits in the parameters (for messages when it is parsed on
    its own, e.g. ``scaling``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    PREFIX: ClassVar[str] = ""

    @classmethod
    def from_params(cls: type[S], params: Any = None, prefix: str | None = None) -> S:
        """This section from a parameters mapping (``None``: defaults; an instance: itself)."""
        return parse(cls, params, cls.PREFIX if prefix is None else prefix)

    def to_params(self) -> dict[str, Any]:
        """Every setting as plain JSON-able values; ``from_params(to_params())`` is equal."""
        return self.model_dump(mode="json")

    @model_validator(mode="before")
    @classmethod
    def _command_line_words(cls, data: Any) -> Any:
        """``"null"`` for optional fields, ``"Processes"`` for a choice of ``processes``, ``"a;b"``
        for a list (``--params`` splits on commas); no ``true``/``false`` for a number (pydantic
        would read it as 1 or 0)."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name) if isinstance(name, str) else None
            if field is None:
                continue
            inner = _unwrap(field.annotation)
            if isinstance(value, bool) and inner in (int, float):
                raise FieldProblem(name, f"must be a number, not {str(value).lower()}", value)
            if not isinstance(value, str):
                continue
            word = value.strip().lower()
            if get_origin(inner) is tuple and word not in _NULL_WORDS:
                # kedro's --params splits on every comma, so a list is given as "a;b" ("[a;b]")
                out[name] = tuple(v for v in value.strip().strip("[]").replace(";", " ").split())
            elif word in _NULL_WORDS and type(None) in get_args(field.annotation):
                out[name] = None
            elif get_origin(inner) is Literal and word in get_args(inner):
                out[name] = word
        return out
