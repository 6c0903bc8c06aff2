"""Pretrained weights: local files load exactly, missing ones fail fast offline or fall back loudly."""

from __future__ import annotations

import pickle
import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from pytorchvideo.models.x3d import create_x3d
from torchvision.models.video import r3d_18

from aura.models import create_model
from aura.models.weights import (
    PretrainedWeightsWarning,
    UnsafeWeightsError,
    WeightsNotFoundError,
    describe_pretrained,
    hf_cache_dir,
    network_reachable,
    parse_pretrained,
)

VIT_TINY = {"vit_name": "vit_tiny_patch16_224", "vit_kwargs": {"depth": 2}, "img_size": 112}
TINY_X3D = {"width_factor": 0.5, "depth_factor": 1.0, "head_dim_out": 64}


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """TORCH_HOME and HF_HOME in empty folders, the hub offline."""
    torch_home, hf_home = tmp_path / "torch", tmp_path / "hf"
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "_hub_dir", torch.hub._hub_dir)  # restored after the test
    torch.hub.set_dir(str(torch_home / "hub"))
    return {"checkpoints": torch_home / "hub" / "checkpoints", "hf": hf_home / "hub"}


@pytest.mark.parametrize(
    ("name", "cfg", "file_name", "folder"),
    [
        ("r3d18_inception", {}, "r3d_18-b3b3357e.pth", "checkpoints"),
        ("vit_gru", VIT_TINY, "model.safetensors", "hf"),
    ],
)
def test_required_weights_fail_fast_offline(
    empty_caches: dict[str, Path], name: str, cfg: dict, file_name: str, folder: str
) -> None:
    start = time.monotonic()
    with pytest.raises(WeightsNotFoundError) as info:
        create_model(name, pretrained=True, **cfg)
    assert time.monotonic() - start < 5
    assert file_name in str(info.value) and str(empty_caches[folder]) in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(("name", "cfg"), [("r3d18_inception", {}), ("vit_gru", VIT_TINY)])
def test_auto_warns_and_trains_from_scratch(
    empty_caches: dict[str, Path], name: str, cfg: dict
) -> None:
    with pytest.warns(PretrainedWeightsWarning, match="FROM SCRATCH"):
        model = create_model(name, pretrained="auto", **cfg)
    assert describe_pretrained(model).startswith("scratch")
    assert describe_pretrained(create_model(name, pretrained=False, **cfg)) == "off"


def test_hf_cache_follows_environment(empty_caches: dict[str, Path]) -> None:
    assert hf_cache_dir() == empty_caches["hf"]


def test_r3d18_weights_path_loads_backbone_exactly(
    empty_caches: dict[str, Path], tmp_path: Path
) -> None:
    torch.manual_seed(123)
    saved = r3d_18().state_dict()
    path = tmp_path / "r3d.pth"
    torch.save(saved, path)
    model = create_model("r3d18_inception", pretrained=True, weights_path=str(path))
    assert describe_pretrained(model) == f"loaded {path}"
    backbone = model.backbone.state_dict()
    assert set(backbone) == {k for k in saved if not k.startswith("fc.")}
    assert all(torch.equal(backbone[k], saved[k]) for k in backbone)


def test_r3d18_file_in_torch_hub_cache_is_used(empty_caches: dict[str, Path]) -> None:
    torch.manual_seed(7)
    saved = r3d_18().state_dict()
    empty_caches["checkpoints"].mkdir(parents=True)
    cached = empty_caches["checkpoints"] / "r3d_18-b3b3357e.pth"
    torch.save(saved, cached)
    model = create_model("r3d18_inception", pretrained="auto", branch_channels=8)
    assert describe_pretrained(model) == f"loaded {cached}"
    assert torch.equal(model.backbone.stem[0].weight, saved["stem.0.weight"])


def test_vit_weights_path_loads_timm_state_dict(
    empty_caches: dict[str, Path], tmp_path: Path
) -> None:
    torch.manual_seed(5)
    vit = timm.create_model("vit_tiny_patch16_224", num_classes=0, img_size=112, depth=2)
    path = tmp_path / "vit_tiny.pth"
    torch.save(vit.state_dict(), path)
    model = create_model("vit_transformer", pretrained=True, weights_path=str(path), **VIT_TINY)
    assert describe_pretrained(model).startswith("loaded")
    loaded = model.vit.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in vit.state_dict().items())


def test_vit_weights_in_hf_cache_are_used(empty_caches: dict[str, Path]) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(9)
    vit = timm.create_model("vit_tiny_patch16_224", num_classes=0, img_size=112, depth=2)
    repo = empty_caches["hf"] / "models--timm--vit_tiny_patch16_224.augreg_in21k_ft_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    save_file(vit.state_dict(), snapshot / "model.safetensors")
    model = create_model("vit_gru", pretrained=True, **VIT_TINY)
    assert describe_pretrained(model) == f"loaded {snapshot / 'model.safetensors'}"
    assert torch.equal(model.vit.patch_embed.proj.weight, vit.patch_embed.proj.weight)


def test_x3d_kinetics_checkpoint_loads_all_but_projection(tmp_path: Path) -> None:
    torch.manual_seed(3)
    kinetics = create_x3d(input_clip_length=4, input_crop_size=160, model_num_class=400, **TINY_X3D)
    path = tmp_path / "X3D_XS.pyth"
    torch.save({"model_state": kinetics.state_dict(), "epoch": 1}, path)
    model = create_model("x3d", variant="XS", pretrained=True, weights_path=str(path), **TINY_X3D)
    ours, theirs = model.net.state_dict(), kinetics.state_dict()
    assert ours["blocks.5.proj.weight"].shape == (1, 64)
    assert all(torch.equal(ours[k], theirs[k]) for k in ours if not k.startswith("blocks.5.proj."))
    with pytest.raises(ValueError, match="do not fit this configuration"):
        create_model("x3d", variant="XS", pretrained=True, weights_path=str(path), width_factor=1.0)


def test_missing_weights_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pth"
    with pytest.raises(WeightsNotFoundError, match="nope.pth"):
        create_model("r3d18_inception", pretrained="auto", weights_path=str(missing))


def test_slowfast_without_published_weights(empty_caches: dict[str, Path]) -> None:
    with pytest.raises(WeightsNotFoundError, match="depth 50/101 only"):
        create_model("slowfast", pretrained=True, depth=18, width=16)
    start = time.monotonic()
    with pytest.raises(WeightsNotFoundError, match="SLOWFAST_8x8_R50.pyth"):
        create_model("slowfast", pretrained="true", width=16)
    assert time.monotonic() - start < 5


def test_parse_pretrained() -> None:
    assert parse_pretrained("True") is True and parse_pretrained("false") is False
    assert parse_pretrained("auto") == "auto" and parse_pretrained(False) is False
    with pytest.raises(ValueError, match="pretrained must be"):
        parse_pretrained(1)


def test_network_probe_on_localhost() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert network_reachable("127.0.0.1", port, timeout=1.0)
    start = time.monotonic()
    assert not network_reachable("127.0.0.1", port, timeout=1.0)
    assert time.monotonic() - start < 2


def test_describe_pretrained_needs_a_registry_model() -> None:
    with pytest.raises(AttributeError, match="create_model"):
        describe_pretrained(torch.nn.Linear(2, 1))


# --- no code runs from a weights file ---------------------------------------------------------


class _Payload:
    """Unpickling this runs ``exec``, which writes a marker file (a stand-in for any payload)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _crafted(path: Path, marker: Path, legacy: bool = False) -> Path:
    """A weights file whose state dict hides the payload next to real-looking tensors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model_state": {"stem.0.weight": torch.zeros(1)}, "epoch": _Payload(marker)}
    if legacy:  # a bare pickle stream, as old torch.save and hand-made files are
        with path.open("wb") as fh:
            pickle.dump(state, fh)
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("pretrained", ["auto", True])
def test_crafted_file_in_hub_cache_is_refused_not_run(
    empty_caches: dict[str, Path], tmp_path: Path, pretrained: object, legacy: bool
) -> None:
    marker = tmp_path / "pwned"
    cached = _crafted(empty_caches["checkpoints"] / "r3d_18-b3b3357e.pth", marker, legacy)
    with pytest.raises(UnsafeWeightsError) as info:
        create_model("r3d18_inception", pretrained=pretrained, branch_channels=8)
    assert str(cached) in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "file_name", "cfg"),
    [
        ("r3d18_inception", "r3d.pth", {}),
        ("x3d", "X3D_XS.pyth", {"variant": "XS", **TINY_X3D}),
        ("vit_transformer", "vit.pth", VIT_TINY),
    ],
)
def test_crafted_weights_path_is_refused_not_run(
    empty_caches: dict[str, Path], tmp_path: Path, name: str, file_name: str, cfg: dict
) -> None:
    marker = tmp_path / "pwned"
    path = _crafted(tmp_path / file_name, marker)
    with pytest.raises(UnsafeWeightsError, match=re.escape(str(path))):
        create_model(name, pretrained=True, weights_path=str(path), **cfg)
    assert not marker.exists()


def test_crafted_file_in_hf_cache_is_refused_not_run(
    empty_caches: dict[str, Path], tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    repo = empty_caches["hf"] / "models--timm--vit_tiny_patch16_224.augreg_in21k_ft_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    path = _crafted(repo / "snapshots" / "0123abcd" / "pytorch_model.bin", marker)
    with pytest.raises(UnsafeWeightsError, match=re.escape(str(path))):
        create_model("vit_gru", pretrained="auto", **VIT_TINY)
    assert not marker.exists()


def test_pyth_checkpoint_with_numpy_counters_loads(tmp_path: Path) -> None:
    torch.manual_seed(4)
    kinetics = create_x3d(input_clip_length=4, input_crop_size=160, model_num_class=400, **TINY_X3D)
    path = tmp_path / "X3D_XS.pyth"
    torch.save({"model_state": kinetics.state_dict(), "epoch": np.int64(300)}, path)
    model = create_model("x3d", variant="XS", pretrained=True, weights_path=str(path), **TINY_X3D)
    ours, theirs = model.net.state_dict(), kinetics.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours if not k.startswith("blocks.5.proj."))
