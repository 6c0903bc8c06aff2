"""Native-crop clips (``training.trainer.clip_source: native_crop``): the place of the crop
(random per epoch in training, the same in every frame; centred in validation), checked
against crops of a plain sequential decode of real files, and the setting itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aura.config import ConfigError
from aura.training.clips import MEAN, STD, ClipDataset, ClipItem, to_tensor
from aura.training.config import TrainingConfig
from aura.training.fit import TrainConfig
from aura.video import Crop, crop_box, iter_frames, probe, sample_indices, write_video
from tests.conftest import texture

S, T = 32, 4


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two 96x72 videos and a 40x24 one (shorter than the crop), with their decoded frames."""
    d = tmp_path_factory.mktemp("native")
    rng = np.random.default_rng(0)
    items, frames, sizes = [], {}, {}
    for i, (w, h, n) in enumerate([(96, 72, 21), (96, 72, 17), (40, 24, 9)]):
        noise = rng.integers(0, 40, (h, w, 3), dtype=np.uint8)
        path = write_video(
            d / f"v{i}.mp4", [texture(k + 5 * i, w, h) // 2 + noise for k in range(n)], fps=25
        )
        info = probe(path)
        items.append(ClipItem(f"v{i}", path, i % 2, info.n_frames))
        frames[f"v{i}"] = np.stack(list(iter_frames(path)))
        sizes[f"v{i}"] = (w, h)
    return {"items": items, "frames": frames, "sizes": sizes}


def _expected(native: dict, ds: ClipDataset, i: int) -> torch.Tensor:
    """Item ``i``'s clip cut from the full decode at the dataset's indices and crop place."""
    item = ds.items[i]
    w, h = native["sizes"][item.video_id]
    b = crop_box(w, h, ds.crop_of(i))
    full = native["frames"][item.video_id][ds.frame_indices(i)]
    out = np.zeros((len(full), S, S, 3), np.uint8)
    out[:, b.pad_top : b.pad_top + b.height, b.pad_left : b.pad_left + b.width] = full[
        :, b.top : b.top + b.height, b.left : b.left + b.width
    ]
    return to_tensor(out)


def test_training_crops_move_per_epoch_and_stay_put_within_a_clip(native: dict) -> None:
    ds = ClipDataset(native["items"], T, train=True, seed=3, crop=S)
    places: dict[int, set[tuple[int, int]]] = {0: set(), 1: set()}
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            x, y = ds[i]
            assert x.shape == (3, T, S, S) and float(y) == ds.items[i].target
            # one crop box for the whole clip, equal to cutting the full frames there
            assert torch.equal(x, _expected(native, ds, i)), (epoch, i)
            if i in places:
                b = crop_box(96, 72, ds.crop_of(i))
                places[i].add((b.top, b.left))
    assert all(len(p) >= 4 for p in places.values())  # a fresh place (almost) every epoch
    # reproducible per (seed, epoch, item); another seed moves them
    again = ClipDataset(native["items"], T, train=True, seed=3, crop=S)
    other = ClipDataset(native["items"], T, train=True, seed=4, crop=S)
    for d in (again, other, ds):
        d.set_epoch(2)
    assert torch.equal(again[0][0], ds[0][0])
    assert [other.crop_of(i) for i in range(2)] != [ds.crop_of(i) for i in range(2)]
    # the crop draws from its own stream: the temporal jitter is that of uncropped clips
    plain = ClipDataset(native["items"], T, train=True, seed=3)
    plain.set_epoch(2)
    assert all(np.array_equal(plain.frame_indices(i), ds.frame_indices(i)) for i in range(3))


def test_validation_crops_are_centred(native: dict) -> None:
    ds = ClipDataset(native["items"], T, train=False, seed=3, crop=S)
    for epoch in (0, 5):
        ds.set_epoch(epoch)
        for i, item in enumerate(ds.items):
            assert ds.crop_of(i) == Crop(S)
            assert np.array_equal(ds.frame_indices(i), sample_indices(item.n_frames, T))
            assert torch.equal(ds[i][0], _expected(native, ds, i))
    b = crop_box(96, 72, Crop(S))
    assert (b.top, b.left) == ((72 - S) // 2, (96 - S) // 2)


def test_a_short_side_is_zero_padded_centred(native: dict) -> None:
    """40x24 under a 32-px crop: 32 of the 40 columns, all 24 rows padded 4 + 4 with black."""
    ds = ClipDataset(native["items"][2:], T, train=False, crop=S)
    x = ds[0][0]
    black = torch.tensor((0.0 - MEAN) / STD)
    assert torch.equal(x[:, :, :4], black.expand_as(x[:, :, :4]))
    assert torch.equal(x[:, :, 28:], black.expand_as(x[:, :, 28:]))
    assert not torch.equal(x[:, :, 4:28], black.expand_as(x[:, :, 4:28]))


def test_crop_and_letterbox_exclude_each_other(native: dict) -> None:
    with pytest.raises(ValueError, match="not both"):
        ClipDataset(native["items"], T, train=False, size=64, crop=S)


def test_clip_source_settings_resolve_per_model() -> None:
    default = TrainConfig()
    assert (default.clip_source, default.crop_size) == ("scaled", 64)
    assert (default.letterbox_size, default.native_crop_size) == (None, None)
    training = TrainingConfig.from_params(
        {
            "models": ["naive_cnn", "x3d"],
            "trainer": {"clip_size": 64},
            "model_params": {
                "naive_cnn": {"trainer": {"clip_source": "native_crop", "crop_size": 48}}
            },
        }
    )
    cnn, x3d = training.trainer_for("naive_cnn"), training.trainer_for("x3d")
    assert (cnn.clip_source, cnn.native_crop_size, cnn.letterbox_size) == ("native_crop", 48, None)
    assert (x3d.clip_source, x3d.native_crop_size, x3d.letterbox_size) == ("scaled", None, 64)
    with pytest.raises(ConfigError, match="naive_cnn.trainer.clip_source"):
        TrainingConfig.from_params(
            {"model_params": {"naive_cnn": {"trainer": {"clip_source": "native"}}}}
        )
    with pytest.raises(ConfigError, match="crop_size"):
        TrainConfig.from_params({"crop_size": 4})


def test_a_large_source_gives_its_own_pixels(tmp_path: Path) -> None:
    """A 1280x720 source: the dataset's clip is T x S x S, nothing resized."""
    big = np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    path = write_video(tmp_path / "hd.mp4", [np.roll(big, k, 0) for k in range(6)], fps=25)
    item = ClipItem("hd", path, 1, probe(path).n_frames)
    x = ClipDataset([item], T, train=False, crop=S)[0][0]
    full = np.stack(list(iter_frames(path)))[sample_indices(item.n_frames, T)]
    top, left = (720 - S) // 2, (1280 - S) // 2
    assert torch.equal(x, to_tensor(full[:, top : top + S, left : left + S]))


def test_the_clip_cache_serves_each_clip_once_and_follows_the_file(
    native: dict, tmp_path: Path
) -> None:
    """Decoded clips are kept per (file, indices, crop): a second dataset with the same seed (the
    next model of the fold) reads them back; a rewritten file or a torn entry is decoded again."""
    cache = tmp_path / "clips"
    items = native["items"][:2]
    first = ClipDataset(items, T, train=True, seed=3, crop=S, cache_dir=cache)
    first.set_epoch(1)
    clips = [first[i][0] for i in range(2)]
    files = sorted(cache.rglob("*.npy"))
    assert len(files) == 2
    for i in range(2):
        assert torch.equal(clips[i], _expected(native, first, i))
    # the next model: same clips, no new entries; another epoch: new places, new entries
    second = ClipDataset(items, T, train=True, seed=3, crop=S, cache_dir=cache)
    second.set_epoch(1)
    assert all(torch.equal(second[i][0], clips[i]) for i in range(2))
    assert sorted(cache.rglob("*.npy")) == files
    second.set_epoch(2)
    second[0]
    assert len(list(cache.rglob("*.npy"))) == 3
    # what is served is what the cache holds (here: an entry overwritten with black frames)
    entry = second._cache_file(items[0], first.frame_indices(0), first.crop_of(0))
    assert entry in files
    np.save(entry, np.zeros((T, S, S, 3), np.uint8))
    black = torch.tensor((0.0 - MEAN) / STD)
    second.set_epoch(1)
    assert torch.equal(second[0][0], black.expand(3, T, S, S))
    # a torn entry is decoded again and rewritten
    entry.write_bytes(b"\x93NUMPY torn")
    assert torch.equal(second[0][0], clips[0])
    assert np.load(entry).shape == (T, S, S, 3)
    # a file rewritten in place (new size and mtime) misses the cache: its new pixels come out
    moved = tmp_path / "v.mp4"
    frames = [texture(k, 96, 72) for k in range(items[0].n_frames)]
    write_video(moved, frames, fps=25)
    item = ClipItem("v", moved, 0, probe(moved).n_frames)
    ds = ClipDataset([item], T, train=False, crop=S, cache_dir=cache)
    before = ds[0][0]
    write_video(moved, [255 - f for f in frames], fps=25)
    after = ds[0][0]
    assert not torch.equal(before, after)
    assert torch.equal(after, ClipDataset([item], T, train=False, crop=S)[0][0])
