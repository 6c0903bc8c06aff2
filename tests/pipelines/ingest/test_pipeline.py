"""The ingest pipeline on an FVC-layout folder full of hostile rows, run through Kedro."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from aura.pipelines.ingest import create_pipeline
from aura.pipelines.ingest.nodes import INDEX_COLUMNS, materialise_corpus
from aura.video import write_video

YT = "https://www.youtube.com/watch?v={}"


def _frames(n: int, w: int = 96, h: int = 64, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)]


@pytest.fixture(scope="module")
def fvc_root(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fvc")
    videos = root / "videos"
    write_video(videos / "FVC1" / "deep" / "AAAAAAAAAAA.mp4", _frames(30), fps=25, codec="h264")
    write_video(videos / "FVC2" / "1234567890123456.webm", _frames(20, seed=1), fps=20, codec="vp9")
    write_video(
        videos / "FVC3" / "891774281763442688.avi", _frames(24, seed=2), fps=24, codec="mpeg4"
    )
    write_video(videos / "FVC3" / "FFFFFFFFFFF.mp4", _frames(10, seed=3), fps=25)
    (videos / "FVC1" / "BBBBBBBBBBB.mp4").write_bytes(b"")
    (videos / "FVC1" / "CCCCCCCCCCC.mp4").write_text(
        "<!DOCTYPE html><html><body>Video unavailable</body></html>"
    )
    good = write_video(videos / "FVC2" / "tmp.mp4", _frames(40, seed=4), fps=25)
    (videos / "FVC2" / "DDDDDDDDDDD.mp4").write_bytes(
        good.read_bytes()[: good.stat().st_size * 2 // 5]
    )
    good.unlink()
    (videos / "FVC1" / "AAAAAAAAAAA.info.json").write_text(
        "{}"
    )  # downloader sidecar, never the video
    (root / "FVC.csv").write_text(
        "cascade_id,video_url,label\n"
        f"f0,{YT.format('AAAAAAAAAAA')},fake\n"
        "r0,https://www.facebook.com/page/videos/1234567890123456/,real\n"
        f"f1,{YT.format('BBBBBBBBBBB')},fake\n"
        f"f1,{YT.format('CCCCCCCCCCC')},fake\n"
        f"f2,{YT.format('DDDDDDDDDDD')},fake\n"
        f"f2,{YT.format('EEEEEEEEEEE')},fake\n"
    )
    (root / "FVC_dup.csv").write_text(
        "cascade_id,video_url,label\n"
        "r0,https://twitter.com/someone/status/891774281763442688,real\n"
        f"f2,{YT.format('FFFFFFFFFFF')},uncertain\n"
        f"f3,{YT.format('AAAAAAAAAAA')},fake\n"
        f"r1,{YT.format('GGGGGGGGGGG')},real\n"
        f"f4,{YT.format('GGGGGGGGGGG')},fake\n"
        "f4,https://vimeo.com/12345,fake\n"
    )
    return root


EXPECTED = [
    ("AAAAAAAAAAA", "ok"),
    ("1234567890123456", "ok"),
    ("BBBBBBBBBBB", "empty_file"),
    ("CCCCCCCCCCC", "not_video"),
    ("DDDDDDDDDDD", "corrupt"),
    ("EEEEEEEEEEE", "missing_file"),
    ("891774281763442688", "ok"),
    ("FFFFFFFFFFF", "label_excluded"),
    ("AAAAAAAAAAA", "duplicate"),
    ("GGGGGGGGGGG", "label_conflict"),
    ("GGGGGGGGGGG", "label_conflict"),
    (None, "bad_url"),
]


def run_ingest(corpus: dict) -> pl.DataFrame:
    catalog = DataCatalog(
        {
            "params:corpus": MemoryDataset(corpus),
            "params:ingest": MemoryDataset({"progress": False}),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog.load("video_index")


def test_every_row_gets_a_status(fvc_root) -> None:
    index = run_ingest({"kind": "fvc", "root": str(fvc_root)})
    assert index.columns[: len(INDEX_COLUMNS)] == INDEX_COLUMNS
    assert list(zip(index["video_id"], index["status"], strict=True)) == EXPECTED
    failed = index.filter(pl.col("status") != "ok")
    assert failed["error"].null_count() == 0
    by_id = {r["video_id"]: r for r in failed.iter_rows(named=True)}
    assert "DDDDDDDDDDD.mp4" in by_id["DDDDDDDDDDD"]["error"]
    assert "EEEEEEEEEEE" in by_id["EEEEEEEEEEE"]["error"]
    assert "FVC.csv:2" in index.row(8, named=True)["error"]


def test_good_rows_have_full_probe_metadata(fvc_root) -> None:
    index = run_ingest({"kind": "fvc", "root": str(fvc_root)})
    good = index.filter(pl.col("status") == "ok")
    assert good.select(INDEX_COLUMNS).null_count().row(0) == tuple([0] * 8 + [3] + [0] * 12)
    rows = {r["video_id"]: r for r in good.iter_rows(named=True)}
    a = rows["AAAAAAAAAAA"]
    assert (a["platform"], a["label"], a["target"], a["codec"]) == ("youtube", "fake", 1, "h264")
    assert (a["width"], a["height"], a["n_frames"], a["rotation"]) == (96, 64, 30, 0)
    assert a["fps"] == pytest.approx(25) and a["duration_s"] == pytest.approx(1.2, abs=0.05)
    assert a["path"].endswith("FVC1/deep/AAAAAAAAAAA.mp4")
    fb = rows["1234567890123456"]
    assert (fb["platform"], fb["codec"], fb["n_frames"], fb["target"]) == ("facebook", "vp9", 20, 0)
    tw = rows["891774281763442688"]
    assert (tw["platform"], tw["codec"], tw["n_frames"]) == ("twitter", "mpeg4", 24)
    # r0 (facebook + twitter) and r1/f4 via the conflicting video share nothing; f0 and f3 share AAAA…
    groups = dict(zip(index["cascade_id"], index["group_id"], strict=True))
    assert groups["f3"] == groups["f0"] == "f0" and groups["r1"] == groups["f4"] == "f4"


def test_only_fvc_csv_present(fvc_root, tmp_path) -> None:
    root = tmp_path / "only"
    root.mkdir()
    (root / "FVC.csv").write_text((fvc_root / "FVC.csv").read_text())
    (root / "videos").symlink_to(fvc_root / "videos")
    index = run_ingest({"kind": "fvc", "root": str(root)})
    assert index.height == 6 and index["status"].to_list()[:2] == ["ok", "ok"]


@pytest.mark.parametrize(
    ("corpus", "message"),
    [
        (
            {"kind": "youtube", "root": "x"},
            r"corpus.kind must be one of 'demo', 'fvc' or 'manifest', got 'youtube'",
        ),
        ({"kind": "fvc", "root": ""}, r"corpus.root must not be empty"),
        ({"kind": "fvc", "rot": "x"}, r"corpus.rot: unknown key; did you mean corpus.root\?"),
        (
            {"kind": "demo", "root": "x", "demo": {"n_cascade": 4}},
            r"corpus.demo.n_cascade: unknown key; did you mean corpus.demo.n_cascades\?",
        ),
        (
            {"kind": "fvc", "root": "/nonexistent/fvc"},
            r"corpus.root=/nonexistent/fvc is not a folder",
        ),
        (
            {"kind": "manifest", "root": "/nonexistent/m.csv"},
            r"corpus.manifest: /nonexistent/m.csv does not exist",
        ),
    ],
)
def test_bad_corpus_config_names_the_key(corpus: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        materialise_corpus(corpus)


def test_no_annotation_files(tmp_path) -> None:
    with pytest.raises(
        ValueError, match=r"none of corpus.annotation_files \['FVC.csv', 'FVC_dup.csv'\]"
    ):
        materialise_corpus({"kind": "fvc", "root": str(tmp_path)})


def test_manifest_corpus(fvc_root, tmp_path) -> None:
    manifest = tmp_path / "mine.csv"
    videos = fvc_root / "videos"
    manifest.write_text(
        f"path,label,group\n{videos}/FVC1/deep/AAAAAAAAAAA.mp4,fake,g\n{videos}/FVC1/BBBBBBBBBBB.mp4,real,g\nnope.mp4,real,\n"
    )
    index = run_ingest({"kind": "manifest", "root": str(manifest), "allow_outside_root": True})
    assert index["status"].to_list() == ["ok", "empty_file", "missing_file"]
    assert index["platform"].to_list() == ["local"] * 3 and index["cascade_id"].to_list() == [
        "g",
        "g",
        "nope.mp4",
    ]


def test_manifest_paths_outside_its_folder_are_never_probed(fvc_root, tmp_path) -> None:
    root = tmp_path / "mine"
    (root / "in").mkdir(parents=True)
    inside = root / "in" / "AAAAAAAAAAA.mp4"
    inside.write_bytes((fvc_root / "videos/FVC1/deep/AAAAAAAAAAA.mp4").read_bytes())
    (root / "in" / "escape.mp4").symlink_to(fvc_root / "videos/FVC3/FFFFFFFFFFF.mp4")
    escapes = [
        "../../../../../../../../etc/hostname",
        "/etc/hostname",
        "/dev/zero",
        str(fvc_root / "videos/FVC3/FFFFFFFFFFF.mp4"),
        "in/escape.mp4",  # a symlink inside, pointing outside
        "in/../../x.mp4",
    ]
    (root / "manifest.csv").write_text(
        "path,label\nin/AAAAAAAAAAA.mp4,fake\n" + "".join(f"{p},real\n" for p in escapes)
    )
    index = run_ingest({"kind": "manifest", "root": str(root / "manifest.csv")})
    assert index["status"].to_list() == ["ok"] + ["outside_root"] * len(escapes)
    outside = index.filter(pl.col("status") == "outside_root")
    assert outside["path"].null_count() == len(escapes)  # no path: nothing downstream opens them
    assert outside["width"].null_count() == len(escapes)
    for rel, error in zip(escapes, outside["error"], strict=True):
        assert rel in error and "corpus.allow_outside_root" in error
    # ids follow the resolved file: the same file reached two ways is one id
    ids = dict(zip(escapes, outside["video_id"], strict=True))
    assert ids[escapes[0]] == ids["/etc/hostname"] == "==etc==hostname"
    assert ids["in/escape.mp4"] == ids[escapes[3]] != ids["/dev/zero"]

    (root / "manifest.csv").write_text("path,label\nin/escape.mp4,real\nin/AAAAAAAAAAA.mp4,fake\n")
    allowed = run_ingest(
        {"kind": "manifest", "root": str(root / "manifest.csv"), "allow_outside_root": True}
    )
    assert allowed["status"].to_list() == ["ok", "ok"]
    assert allowed["path"][0] == str(fvc_root / "videos/FVC3/FFFFFFFFFFF.mp4")


def test_allow_outside_root_must_be_a_bool(tmp_path) -> None:
    (tmp_path / "manifest.csv").write_text("path,label\n")
    with pytest.raises(ValueError, match="corpus.allow_outside_root must be true or false"):
        run_ingest(
            {
                "kind": "manifest",
                "root": str(tmp_path / "manifest.csv"),
                "allow_outside_root": "maybe",
            }
        )


@pytest.mark.parametrize("kind", ["fvc", "manifest"])
def test_header_only_annotations_warn_naming_the_file(tmp_path, caplog, kind: str) -> None:
    name, header = {
        "fvc": ("FVC.csv", "cascade_id,video_url,label"),
        "manifest": ("manifest.csv", "path,label"),
    }[kind]
    (tmp_path / name).write_text(header + "\n")
    with caplog.at_level("WARNING"):
        index = run_ingest({"kind": kind, "root": str(tmp_path)})
    assert index.height == 0
    warned = [
        r for r in caplog.records if r.levelname == "WARNING" and "no data rows" in r.getMessage()
    ]
    assert len(warned) == 1 and str(tmp_path / name) in warned[0].getMessage()
