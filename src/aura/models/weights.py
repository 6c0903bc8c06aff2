"""Pretrained backbone weights: find them on disk, download only when the host answers, or fail fast.

``pretrained`` is ``True`` (weights required), ``"auto"`` (use them when available, else warn and
train from scratch) or ``False`` (never look). Lookup order: ``weights_path``, the library's own
cache (``torch.hub.get_dir()/checkpoints`` for torchvision and pytorchvideo files, the Hugging Face
hub cache for timm), then a download, tried only after a 2 s socket probe of the host succeeds.
Offline, the answer comes in well under a second: no library retry loop is ever entered.

Every family builder declares a :class:`PretrainedSource` and calls :func:`apply_pretrained`
(after timm's ``build_model_with_cfg``): locate, load into the target submodule, record the status.

Loading never runs code from a weights file: torch pickles load with ``weights_only=True`` only
(plus NumPy scalars), anything else is refused with :class:`UnsafeWeightsError` naming the file.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import threading
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import torch
from torch import nn

log = logging.getLogger(__name__)

Pretrained = bool | Literal["auto"]

#: Attribute that every model built by the registry carries.
STATUS_ATTR = "pretrained_status"
PROBE_TIMEOUT_S = 2.0
HF_HOST = "huggingface.co"
HF_FILES = ("model.safetensors", "pytorch_model.bin")


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights were required but are neither on disk nor downloadable."""


class UnsafeWeightsError(ValueError):
    """A weights file that cannot be loaded without running code from it; it is refused."""


class PretrainedWeightsWarning(UserWarning):
    """``pretrained="auto"`` found no weights; the model trains from scratch."""


def parse_pretrained(value: object) -> Pretrained:
    """``True``/``False``/``"auto"`` from a bool or a config string ("true", "false", "auto")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("auto", "true", "false"):
        word = value.strip().lower()
        return "auto" if word == "auto" else word == "true"
    raise ValueError(f"pretrained must be true, false or 'auto', got {value!r}")


def network_reachable(host: str, port: int = 443, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``host`` (or the HTTPS proxy, if one is set) opens in time.

    Runs in a daemon thread so that a hanging DNS lookup cannot stall the caller past ``timeout``.
    """
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if proxy:
        parsed = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = parsed.hostname or host, parsed.port or 80
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.1)
    return bool(result and result[0])


def hub_checkpoint_dir() -> Path:
    """Folder where torchvision / pytorchvideo (``torch.hub``) keep downloaded checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder, read from the environment now (not at import time)."""
    if cache := os.environ.get("HF_HUB_CACHE"):
        return Path(cache)
    if home := os.environ.get("HF_HOME"):
        return Path(home) / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "huggingface" / "hub"


def set_status(model: nn.Module, status: str) -> nn.Module:
    """Record how the backbone was initialised on ``model`` (see :func:`describe_pretrained`)."""
    object.__setattr__(model, STATUS_ATTR, status)
    return model


def describe_pretrained(model: nn.Module) -> str:
    """ "off", "loaded <path>", "downloaded <file>" or "scratch: <reason>" for a registry model."""
    status = getattr(model, STATUS_ATTR, None)
    if not isinstance(status, str):
        raise AttributeError(f"{type(model).__name__} was not built by aura.models.create_model")
    return status


def _explicit_path(model: str, weights_path: str | os.PathLike[str]) -> Path:
    path = Path(weights_path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"{model}: weights_path {str(path)!r} does not exist")
    return path


def no_weights(model: str, pretrained: Pretrained, reason: str, hint: str = "") -> str:
    """Raise (``True``) or warn loudly and return a ``scratch: ...`` status (``"auto"``)."""
    message = f"{model}: no pretrained weights: {reason}.{(' ' + hint) if hint else ''}"
    if pretrained is True:
        raise WeightsNotFoundError(message)
    warning = f"{message} pretrained='auto': TRAINING {model} FROM SCRATCH."
    log.warning(warning)
    warnings.warn(warning, PretrainedWeightsWarning, stacklevel=3)
    return f"scratch: {reason}"


@dataclass(frozen=True)
class Located:
    """Where the weights are (``path`` None: none to load) and the status to record."""

    path: Path | None
    status: str
    extra: dict[str, Any] = field(default_factory=dict)


def locate_hub_file(
    model: str, pretrained: Pretrained, weights_path: str | None, file_name: str, url: str
) -> Located:
    """Find (or download) a torch.hub checkpoint such as torchvision's ``r3d_18-b3b3357e.pth``."""
    if pretrained is False:
        return Located(None, "off")
    if weights_path:
        path = _explicit_path(model, weights_path)
        return Located(path, f"loaded {path}")
    folder = hub_checkpoint_dir()
    cached = folder / file_name
    if cached.is_file():
        return Located(cached, f"loaded {cached}")
    host = urlparse(url).hostname or ""
    if network_reachable(host):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            log.info("%s: downloading %s to %s", model, url, cached)
            torch.hub.download_url_to_file(url, str(cached), progress=False)
            return Located(cached, f"downloaded {file_name}")
        except Exception as err:  # any download failure means "not available"
            reason = f"{file_name} is not in {folder} and downloading {url} failed ({err})"
    else:
        reason = f"{file_name} is not in {folder} and {host} is unreachable"
    hint = f"Download {url} and put it in {folder}/ (or set weights_path)."
    return Located(None, no_weights(model, pretrained, reason, hint))


def _hf_cached(hub_id: str, cache: Path) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    for name in HF_FILES:
        found = try_to_load_from_cache(hub_id, name, cache_dir=cache)
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def _check_timm_file(path: Path) -> None:
    """Refuse a torch pickle timm would reject anyway, but with an error that names the file.

    timm reads ``.safetensors`` and ``.npz`` (``allow_pickle=False``) without pickle and other
    files with ``weights_only=True``; the memory-mapped check costs no full read.
    """
    if path.suffix not in (".safetensors", ".npz"):
        safe_torch_load(path, mmap=zipfile.is_zipfile(path))  # the legacy format cannot be mapped


def locate_timm(model: str, pretrained: Pretrained, weights_path: str | None, name: str) -> Located:
    """Find timm weights; ``extra`` holds the ``timm.create_model`` pretrained arguments."""
    if pretrained is False:
        return Located(None, "off", {"pretrained": False})
    if weights_path:
        path = _explicit_path(model, weights_path)
        _check_timm_file(path)
        overlay = {"file": str(path), "custom_load": path.suffix == ".npz"}
        return Located(path, f"loaded {path}", {"pretrained": True, "overlay": overlay})
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    hub_id = getattr(cfg, "hf_hub_id", None)
    if not hub_id:
        return Located(None, no_weights(model, pretrained, f"timm publishes none for {name}"))
    cache = hf_cache_dir()
    if found := _hf_cached(hub_id, cache):
        _check_timm_file(found)
        overlay = {"file": str(found), "custom_load": False}
        return Located(found, f"loaded {found}", {"pretrained": True, "overlay": overlay})
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    if not offline and network_reachable(HF_HOST):
        return Located(None, f"downloaded {hub_id}", {"pretrained": True, "download": True})
    os.environ["HF_HUB_OFFLINE"] = "1"  # no hub retry loop anywhere later in this process
    why = "HF_HUB_OFFLINE=1" if offline else f"{HF_HOST} is unreachable"
    url = f"https://huggingface.co/{hub_id}/resolve/main/{HF_FILES[0]}"
    reason = f"{HF_FILES[0]} of {hub_id} is not in the Hugging Face cache {cache} and {why}"
    hint = (
        f"Download {url} and set weights_path to it, or fill {cache}/ with "
        f"`hf download {hub_id} {HF_FILES[0]}` (run with the same HF_HOME)."
    )
    return Located(None, no_weights(model, pretrained, reason, hint), {"pretrained": False})


def _plain_data_globals() -> list[Any]:
    """Globals a weights file may name besides tensors: NumPy scalars and dtypes (data, no code).

    Training checkpoints (pytorchvideo's ``.pyth`` from PySlowFast) can store counters such as
    the epoch as NumPy scalars next to ``model_state``.
    """
    import numpy as np

    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # NumPy < 2
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    kinds = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    kinds += ("float16", "float32", "float64")
    return [scalar, np.dtype, *{type(np.dtype(k)) for k in kinds}]


def _unsafe_globals(path: Path) -> list[str]:
    """The globals a checkpoint would import, read from its pickle opcodes without running them."""
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # legacy (non-zip) format or unreadable: the load error says enough
        return []


def safe_torch_load(path: Path, *, mmap: bool = False) -> Any:
    """``torch.load`` that can only rebuild tensors and plain data: never runs code from the file.

    Raises:
        UnsafeWeightsError: the file needs anything else (or is not a torch file); names the file.
    """
    try:
        with torch.serialization.safe_globals(_plain_data_globals()):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as err:
        found = _unsafe_globals(path)
        what = f"it imports {', '.join(found[:5])}" if found else str(err).splitlines()[0][:300]
        raise UnsafeWeightsError(
            f"refusing weights file {path}: it is not a plain tensor checkpoint ({what}). Weights "
            "are loaded with torch.load(weights_only=True) only, never by running pickled code. "
            "If you trust the file, convert it once to a state dict: "
            "torch.save(torch.load(SRC, weights_only=False)['model_state'], DST)"
        ) from None


def load_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``: a plain one, or wrapped as model_state/state_dict/model.

    Raises:
        UnsafeWeightsError: the file holds anything but tensors and plain data (see
            :func:`safe_torch_load`); nothing in it is executed.
    """
    obj: Any = safe_torch_load(path)
    for key in ("model_state", "state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    return obj


def load_backbone(
    model: str, module: nn.Module, state: dict[str, torch.Tensor], skip: tuple[str, ...] = ()
) -> None:
    """Load ``state`` (minus keys starting with ``skip``) into ``module``: every key must fit."""
    kept = {k: v for k, v in state.items() if not k.startswith(skip)}
    own = module.state_dict()
    missing = sorted(
        k
        for k in set(own) - set(kept)
        if not k.startswith(skip) and not k.endswith("num_batches_tracked")
    )
    unexpected = sorted(set(kept) - set(own))
    wrong = sorted(k for k in set(own) & set(kept) if own[k].shape != kept[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(
            f"{model}: the pretrained weights do not fit this configuration "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape {wrong[:5]}); "
            "use the default architecture settings or pretrained=false"
        )
    module.load_state_dict(kept, strict=not skip)


@dataclass(frozen=True)
class PretrainedSource:
    """Where a family's pretrained weights come from and what they initialise.

    Name a torch.hub checkpoint (``file_name`` + ``url``) or timm weights (``timm_name``, plus the
    ``timm_kwargs`` the target was built with); naming neither means the architecture has no
    pretrained weights at all (:data:`NO_PRETRAINED`).
    """

    file_name: str | None = None  # torch.hub checkpoint file, looked up in hub_checkpoint_dir()
    url: str | None = None  # where that file is downloaded from
    timm_name: str | None = None  # timm model whose weights initialise the target
    timm_kwargs: Mapping[str, Any] = field(default_factory=dict)
    target: str = ""  # submodule the weights load into ("": the whole model)
    skip: tuple[str, ...] = ()  # state-dict key prefixes not loaded (a new head)
    unpublished: str | None = None  # why nothing can be downloaded (a weights_path still loads)

    @property
    def exists(self) -> bool:
        """Whether weights can exist for this architecture at all."""
        return bool(self.file_name or self.timm_name or self.unpublished)


#: The source of an architecture that has no pretrained weights.
NO_PRETRAINED = PretrainedSource()


def _timm_state(model: str, source: PretrainedSource, located: Located) -> dict[str, torch.Tensor]:
    """The weights timm loads for ``source`` (its own loader: position-embedding resampling,
    ``.npz`` files), built the way the target was."""
    import timm

    kwargs = dict(source.timm_kwargs)
    if overlay := located.extra.get("overlay"):
        kwargs["pretrained_cfg_overlay"] = overlay
    try:
        loaded = timm.create_model(source.timm_name, pretrained=True, **kwargs)
    except RuntimeError as err:
        raise ValueError(
            f"{model}: the pretrained weights of {source.timm_name} do not fit "
            f"{dict(source.timm_kwargs)} ({err}); use the default architecture or pretrained=false"
        ) from err
    return loaded.state_dict()


def apply_pretrained(
    model: nn.Module,
    name: str,
    pretrained: Pretrained,
    weights_path: str | None,
    source: PretrainedSource,
) -> nn.Module:
    """Initialise ``model``'s ``source.target`` from ``source`` as ``pretrained`` asks, and record
    the status (:func:`describe_pretrained`); returns ``model``.

    Raises:
        WeightsNotFoundError: weights required (``True``) but not found, or ``weights_path``
            missing.
        UnsafeWeightsError: a weights file that is not plain tensors (never executed).
        ValueError: the weights do not fit the configuration, or the architecture has none
            and ``pretrained`` is ``True`` or a ``weights_path`` is given.
    """
    if pretrained is False:
        return set_status(model, "off")
    if not source.exists:
        if pretrained is True or weights_path:
            raise ValueError(f"{name} has no pretrained weights; set pretrained to false or auto")
        return set_status(model, f"scratch: {name} has no pretrained weights")
    if source.unpublished and not weights_path:
        return set_status(model, no_weights(name, pretrained, source.unpublished))
    state: dict[str, torch.Tensor] | None = None
    if source.timm_name:
        found = locate_timm(name, pretrained, weights_path, source.timm_name)
        if found.extra.get("pretrained"):
            state = _timm_state(name, source, found)
    else:
        file_name = source.file_name or Path(weights_path or "").name
        found = locate_hub_file(name, pretrained, weights_path, file_name, source.url or "")
        if found.path is not None:
            state = load_checkpoint(found.path)
    if state is not None:
        target = model.get_submodule(source.target) if source.target else model
        load_backbone(name, target, state, skip=source.skip)
    return set_status(model, found.status)
