"""Clip items, the frame-sampling dataset and class-balanced batches, on tiny real videos."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from aura.training.clips import (
    BalancedBatchSampler,
    ClipDataset,
    ClipItem,
    class_pos_weight,
    jitter_indices,
    to_tensor,
)
from aura.video import VideoDecodeError, sample_frames, sample_indices
from tests.conftest import make_clip_items

SIZE = 64


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[ClipItem]:
    return make_clip_items(tmp_path_factory.mktemp("clips"))


# ---- BalancedBatchSampler / class_pos_weight ----

TARGETS = [0] * 10 + [1] * 3


def test_balanced_batches_hold_both_classes_equally() -> None:
    sampler = BalancedBatchSampler(TARGETS, batch_size=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 5  # ceil(2 * 10 / 4)
    for batch in batches:
        assert Counter(TARGETS[i] for i in batch) == {0: 2, 1: 2}
    seen = Counter(i for b in batches for i in b)
    assert {i for i in seen if TARGETS[i] == 0} == set(range(10))  # every real item once
    assert all(seen[i] == 1 for i in range(10))
    assert sorted(seen[i] for i in range(10, 13)) == [3, 3, 4]  # fakes oversampled evenly


@pytest.mark.parametrize(("batch_size", "length"), [(2, 10), (6, 4), (8, 3), (20, 1), (32, 1)])
def test_balanced_epoch_length(batch_size: int, length: int) -> None:
    sampler = BalancedBatchSampler(TARGETS, batch_size)
    assert len(sampler) == length == len(list(sampler))
    assert all(len(b) == batch_size for b in sampler)


def test_balanced_batches_reproduce_per_seed_and_epoch() -> None:
    def epoch(seed: int, e: int) -> list[list[int]]:
        sampler = BalancedBatchSampler(TARGETS, 4, seed=seed)
        sampler.set_epoch(e)
        return list(sampler)

    assert epoch(0, 0) == epoch(0, 0)
    assert epoch(0, 1) == epoch(0, 1)
    assert epoch(0, 0) != epoch(0, 1)
    assert epoch(0, 0) != epoch(1, 0)


@pytest.mark.parametrize("batch_size", [0, 1, 3, 7])
def test_balanced_rejects_odd_batch(batch_size: int) -> None:
    with pytest.raises(ValueError, match="even"):
        BalancedBatchSampler(TARGETS, batch_size)


@pytest.mark.parametrize(("targets", "missing"), [([0, 0, 0], "fake"), ([1, 1], "real")])
def test_balanced_rejects_one_class(targets: list[int], missing: str) -> None:
    with pytest.raises(ValueError, match=f"no {missing}"):
        BalancedBatchSampler(targets, 2)


def test_class_pos_weight() -> None:
    assert class_pos_weight(TARGETS) == pytest.approx(10 / 3)
    with pytest.raises(ValueError, match="no fake"):
        class_pos_weight([0, 0])


# ---- temporal sampling ----


@pytest.mark.parametrize(("n", "t"), [(30, 8), (8, 8), (3, 8), (1, 4), (100, 1)])
def test_jitter_one_index_per_segment(n: int, t: int) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = jitter_indices(n, t, rng)
        assert idx.shape == (t,) and idx.dtype == np.int64
        assert np.all(np.diff(idx) >= 0) and idx.min() >= 0 and idx.max() < n
        seg = np.arange(t + 1) * n / t
        assert np.all(idx >= np.floor(seg[:-1])) and np.all(idx < seg[1:])


def test_validation_indices_are_fixed(items: list[ClipItem]) -> None:
    ds = ClipDataset(items, 8, train=False)
    first = [ds.frame_indices(i) for i in range(len(ds))]
    ds.set_epoch(3)
    for i, item in enumerate(items):
        np.testing.assert_array_equal(ds.frame_indices(i), first[i])
        np.testing.assert_array_equal(first[i], sample_indices(item.n_frames, 8))


def test_training_indices_change_per_epoch_and_reproduce(items: list[ClipItem]) -> None:
    def indices(epoch: int, seed: int = 0) -> list[np.ndarray]:
        ds = ClipDataset(items, 8, train=True, seed=seed)
        ds.set_epoch(epoch)
        return [ds.frame_indices(i) for i in range(len(ds))]

    e0, e1 = indices(0), indices(1)
    assert any(not np.array_equal(a, b) for a, b in zip(e0, e1, strict=True))
    for a, b in zip(e0, indices(0), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(e0, indices(0, seed=1), strict=True))


@pytest.mark.parametrize("train", [False, True])
def test_clip_tensor_is_the_normalised_decoded_frames(items: list[ClipItem], train: bool) -> None:
    ds = ClipDataset(items, 8, train=train, seed=5)
    ds.set_epoch(2)
    for i in (0, 1):
        x, y = ds[i]
        assert x.shape == (3, 8, SIZE, SIZE) and x.dtype == torch.float32
        assert y.shape == () and y.dtype == torch.float32 and y.item() == items[i].target
        frames = sample_frames(items[i].path, indices=ds.frame_indices(i)).frames
        expected = (torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 255 - 0.45) / 0.225
        torch.testing.assert_close(x, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(to_tensor(frames).shape, (3, 8, SIZE, SIZE))


def test_size_letterboxes(items: list[ClipItem]) -> None:
    x, _ = ClipDataset(items[:1], 4, train=False, size=32)[0]
    assert x.shape == (3, 4, 32, 32)


def test_decode_failure_names_the_file(tmp_path: Path, items: list[ClipItem]) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    for item in (
        ClipItem("gone", tmp_path / "missing.mp4", 0, 10),
        ClipItem("broken", broken, 1, 10),
        ClipItem("stale", items[0].path, 0, items[0].n_frames + 50),  # n_frames past the end
    ):
        with pytest.raises(VideoDecodeError) as err:
            ClipDataset([item], 8, train=False)[0]
        assert str(item.path) in str(err.value) and item.video_id in str(err.value)
