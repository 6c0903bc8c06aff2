"""Fold invariants: stratified, grouped by cascade, variants train-only, clear failures; the
inner fit/select split of each fold's training side."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from aura.training import FoldError, make_folds


def _index(groups: list[tuple[str, str, int]], bad: int = 0) -> pl.DataFrame:
    """Rows from (group, label, n_videos); ``bad`` extra rows with a failing status."""
    rows = []
    for group, label, n in groups:
        for i in range(n):
            rows.append(
                {
                    "video_id": f"{group}_{i}",
                    "cascade_id": group,
                    "group_id": group,
                    "label": label,
                    "target": int(label == "fake"),
                    "status": "ok",
                    "error": None,
                    "path": f"/videos/{group}_{i}.mp4",
                }
            )
    for i in range(bad):
        rows.append(
            {
                "video_id": f"bad{i}",
                "cascade_id": "x",
                "group_id": "x",
                "label": "fake",
                "target": 1,
                "status": "corrupt",
                "error": "broken",
                "path": f"/videos/bad{i}.mp4",
            }
        )
    return pl.DataFrame(rows, schema_overrides={"error": pl.String})


def _variants(index: pl.DataFrame, k: int = 2) -> pl.DataFrame:
    ok = index.filter(pl.col("status") == "ok")
    return pl.DataFrame(
        [
            {
                "variant_id": f"{v}__v{j}",
                "source_video_id": v,
                "variant": j,
                "status": "ok",
                "error": None,
                "path": f"/aug/{v}__v{j}.mp4",
            }
            for v in ok["video_id"]
            for j in range(1, k + 1)
        ],
        schema_overrides={"error": pl.String},
    )


def check_invariants(table: pl.DataFrame, index: pl.DataFrame, n_folds: int) -> None:
    ok = index.filter(pl.col("status") == "ok")
    originals = table.filter(pl.col("variant") == 0)
    # every usable original is validated exactly once, failing rows never appear
    val = originals.filter(pl.col("role") == "val")
    assert sorted(val["video_id"]) == sorted(ok["video_id"])
    assert not set(table["video_id"]) & set(index.filter(pl.col("status") != "ok")["video_id"])
    for k in range(n_folds):
        part = table.filter(pl.col("fold") == k)
        train_groups = set(part.filter(pl.col("role") == "train")["group_id"])
        val_groups = set(part.filter(pl.col("role") == "val")["group_id"])
        assert not train_groups & val_groups, f"fold {k} leaks a cascade"
        assert set(part.filter(pl.col("role") == "val")["label"]) == {"real", "fake"}
        assert set(part.filter(pl.col("role") == "train")["label"]) == {"real", "fake"}
        assert part.filter((pl.col("variant") > 0) & (pl.col("role") == "val")).height == 0
        # a variant trains exactly where its source trains
        src_train = set(
            part.filter((pl.col("role") == "train") & (pl.col("variant") == 0))["video_id"]
        )
        if table.filter(pl.col("variant") > 0).height:
            assert set(part.filter(pl.col("variant") > 0)["source_video_id"]) == src_train
        check_inner(part)


def check_inner(part: pl.DataFrame) -> None:
    """One fold's inner roles: null on validation, fit/select on training, select grouped, with
    both classes on both sides, and a select original's variants never in fit."""
    val, train = part.filter(pl.col("role") == "val"), part.filter(pl.col("role") == "train")
    assert val["inner_role"].null_count() == val.height
    assert set(train["inner_role"]) <= {"fit", "select"}
    fit, select = (train.filter(pl.col("inner_role") == r) for r in ("fit", "select"))
    if select.height:
        assert set(fit["group_id"]).isdisjoint(set(select["group_id"]))
        assert set(select["label"]) == set(fit["label"]) == {"real", "fake"}
        sources = set(select.filter(pl.col("variant") == 0)["video_id"])
        assert set(select["source_video_id"]) == sources
        assert fit.filter(pl.col("source_video_id").is_in(list(sources))).is_empty()


def test_skewed_cascades() -> None:
    sizes = [
        ("f0", "fake", 12),
        ("f1", "fake", 1),
        ("f2", "fake", 5),
        ("f3", "fake", 2),
        ("f4", "fake", 3),
        ("r0", "real", 9),
        ("r1", "real", 1),
        ("r2", "real", 4),
        ("r3", "real", 2),
        ("r4", "real", 6),
    ]
    index = _index(sizes, bad=3)
    table = make_folds(index, _variants(index), n_folds=3, seed=1)
    check_invariants(table, index, 3)
    assert table["fold"].n_unique() == 3
    assert make_folds(index, _variants(index), n_folds=3, seed=1).equals(table)


def test_one_class_fold_fails_clearly() -> None:
    index = _index([("f0", "fake", 3), ("f1", "fake", 2), ("f2", "fake", 2), ("r0", "real", 4)])
    with pytest.raises(FoldError, match=r"training.n_folds=3 .*no real video"):
        make_folds(index, n_folds=3)
    table = make_folds(
        _index([("f0", "fake", 3), ("f1", "fake", 2), ("r0", "real", 4), ("r1", "real", 1)]),
        n_folds=3,
        auto_reduce_folds=True,
        inner_val_fraction=0,  # 2 folds of 4 groups leave no room for a selection set
    )
    assert table["fold"].n_unique() == 2
    with pytest.raises(FoldError, match="only 2 cascade groups for 5 folds"):
        make_folds(_index([("f0", "fake", 3), ("r0", "real", 4)]), n_folds=5)


def test_demo_corpus_folds(demo_index: pl.DataFrame) -> None:
    table = make_folds(demo_index, n_folds=4, seed=0)
    check_invariants(table, demo_index, 4)
    sizes = table.filter(pl.col("role") == "val").group_by("fold").len()["len"].to_numpy()
    largest_group = (
        demo_index.filter(pl.col("status") == "ok").group_by("group_id").len()["len"].max()
    )
    assert np.ptp(sizes) <= largest_group  # balanced up to one cascade


def _many(n_groups: int, seed: int = 0) -> pl.DataFrame:
    """``n_groups`` cascades, alternating fake/real, of 1-3 videos."""
    rng = np.random.default_rng(seed)
    labels = ("fake", "real")
    return _index([(f"g{i}", labels[i % 2], int(rng.integers(1, 4))) for i in range(n_groups)])


def test_inner_split_holds_out_a_grouped_stratified_share() -> None:
    index = _many(40)
    variants = _variants(index, k=1)
    table = make_folds(index, variants, n_folds=5, seed=3, inner_val_fraction=0.25)
    check_invariants(table, index, 5)
    for k in range(5):
        train = table.filter((pl.col("fold") == k) & (pl.col("role") == "train"))
        select = train.filter(pl.col("inner_role") == "select")
        share = select["group_id"].n_unique() / train["group_id"].n_unique()
        assert 0.15 <= share <= 0.35, (k, share)  # round(1 / 0.25) = 4 inner splits
        assert (
            select.filter(pl.col("variant") > 0).height
            == select.filter(pl.col("variant") == 0).height
        )  # each select original brought its one variant along
    # deterministic, seeded by (seed, fold), and the outer split does not depend on it
    assert make_folds(index, variants, n_folds=5, seed=3, inner_val_fraction=0.25).equals(table)
    selects = [
        set(table.filter((pl.col("fold") == k) & (pl.col("inner_role") == "select"))["group_id"])
        for k in range(5)
    ]
    assert len({frozenset(s) for s in selects}) > 1
    flat = make_folds(index, variants, n_folds=5, seed=3, inner_val_fraction=0)
    assert flat.drop("inner_role").equals(table.drop("inner_role"))
    other = make_folds(index, variants, n_folds=5, seed=4, inner_val_fraction=0.25)
    assert not other.equals(table)


def test_zero_fraction_selects_nothing() -> None:
    index = _many(12)
    table = make_folds(index, _variants(index), n_folds=3, inner_val_fraction=0)
    check_invariants(table, index, 3)
    train = table.filter(pl.col("role") == "train")
    assert (train["inner_role"] == "fit").all()
    assert (
        table.filter(pl.col("role") == "val")["inner_role"].null_count()
        == table.filter(pl.col("role") == "val").height
    )


def test_impossible_inner_split_names_the_fraction() -> None:
    # 2 folds of 3 + 3 one-video groups: 3 training groups cannot make 5 inner splits
    small = _index(
        [(f"f{i}", "fake", 1) for i in range(3)] + [(f"r{i}", "real", 1) for i in range(3)]
    )
    with pytest.raises(FoldError, match=r"training.inner_val_fraction=0.2 .* 3 cascade groups"):
        make_folds(small, n_folds=2, inner_val_fraction=0.2)
    # one real group per training side: selection and fit cannot both hold a real video
    lopsided = _index(
        [(f"f{i}", "fake", 1) for i in range(6)] + [("r0", "real", 2), ("r1", "real", 2)]
    )
    with pytest.raises(FoldError, match=r"training.inner_val_fraction=0.45 .*both classes"):
        make_folds(lopsided, n_folds=2, inner_val_fraction=0.45)
    assert make_folds(lopsided, n_folds=2, inner_val_fraction=0)["fold"].n_unique() == 2
    with pytest.raises(FoldError, match=r"training.inner_val_fraction=0.5: must be in \[0, 0.5\)"):
        make_folds(small, n_folds=2, inner_val_fraction=0.5)


def test_training_config_bounds_the_inner_fraction() -> None:
    from aura.config import ConfigError
    from aura.training.config import TrainingConfig

    assert TrainingConfig.from_params({}).inner_val_fraction == 0.2
    assert TrainingConfig.from_params({"inner_val_fraction": 0}).inner_val_fraction == 0
    for bad in (0.5, -0.1):
        with pytest.raises(ConfigError, match="training.inner_val_fraction"):
            TrainingConfig.from_params({"inner_val_fraction": bad})


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    from aura.pipelines.ingest.nodes import build_video_index, materialise_corpus, read_annotations

    corpus = {
        "kind": "demo",
        "root": str(tmp_path_factory.mktemp("demo")),
        "demo": {"n_cascades": 8, "reposts_per_cascade": 1},
    }
    spec = materialise_corpus(corpus)
    return build_video_index(read_annotations(spec, corpus), {"progress": False})
