"""Annotation parsing against the real FVC files and hand-made edge cases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from aura.corpus import annotations as ann
from aura.corpus.ids import MAX_ID_LENGTH, encode_path, is_source_id, variant_id

EXCLUDE_ALL = dict.fromkeys(ann.EXTRA_LABELS, "exclude")


def _raw_rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",") for line in lines if line.strip()]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/watch?v=Y7MJlmbnLQA", ("youtube", "Y7MJlmbnLQA")),
        ("https://www.youtube.com/watch?feature=share&v=hZ5Kt-ffkA0", ("youtube", "hZ5Kt-ffkA0")),
        ("https://youtu.be/AEPvSo8bE2I", ("youtube", "AEPvSo8bE2I")),
        ("https://www.youtube.com/shorts/AEPvSo8bE2I", ("youtube", "AEPvSo8bE2I")),
        (
            "https://www.facebook.com/skynews/videos/1321336991214228/",
            ("facebook", "1321336991214228"),
        ),
        (
            "https://www.facebook.com/a.b/videos/vb.123/10155633090029395/",
            ("facebook", "10155633090029395"),
        ),
        ("https://www.facebook.com/watch/?v=1321336991214228", ("facebook", "1321336991214228")),
        ("https://twitter.com/gci5/status/891774281763442688", ("twitter", "891774281763442688")),
        ("https://x.com/gci5/status/891774281763442688?s=20", ("twitter", "891774281763442688")),
    ],
)
def test_parse_video_url(url: str, expected: tuple[str, str]) -> None:
    assert ann.parse_video_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://vimeo.com/123456",
        "https://www.youtube.com/watch?v=short",
        "https://twitter.com/u/likes",
        "not a url",
    ],
)
def test_parse_video_url_rejects(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported video URL"):
        ann.parse_video_url(url)


def test_real_fvc_files_parse_completely(fvc_dir: Path) -> None:
    rows = [
        r
        for name in ("FVC.csv", "FVC_dup.csv")
        for r in ann.read_fvc_csv(fvc_dir / name, EXCLUDE_ALL)
    ]
    raw = [r for name in ("FVC.csv", "FVC_dup.csv") for r in _raw_rows(fvc_dir / name)]
    assert len(rows) == len(raw) > 5500

    # Every row's URL yields a platform and id; compare with a plain text reading of the files.
    assert all(r["status"] != ann.BAD_URL for r in rows)
    hosts = Counter(u.split("/")[2].removeprefix("www.") for _, u, _ in raw)
    platforms = Counter(str(r["platform"]) for r in rows)
    assert platforms == {
        "youtube": hosts["youtube.com"],
        "facebook": hosts["facebook.com"],
        "twitter": hosts["twitter.com"],
    }
    for row, (_, url, _) in zip(rows, raw, strict=True):
        if row["platform"] == "youtube":
            assert row["video_id"] == url.split("v=")[1][:11]
        elif row["platform"] == "facebook":
            assert row["video_id"] == url.rstrip("/").split("/")[-1]
        else:
            assert row["video_id"] == url.split("/status/")[1]

    # Label counts match the files; extra labels are excluded by default, not dropped.
    assert Counter(str(r["label_raw"]) for r in rows) == Counter(label for _, _, label in raw)
    for row in rows:
        if row["label_raw"] in ann.EXTRA_LABELS:
            assert row["label"] is None and row["status"] == ann.LABEL_EXCLUDED
        else:
            assert row["label"] == row["label_raw"] and row["status"] == ann.OK

    originals = ann.read_fvc_csv(fvc_dir / "FVC.csv", EXCLUDE_ALL)
    assert Counter(r["label"] for r in originals) == Counter(
        label for _, _, label in _raw_rows(fvc_dir / "FVC.csv")
    )


def test_real_fvc_duplicates_and_groups(fvc_dir: Path) -> None:
    rows = [
        r
        for name in ("FVC.csv", "FVC_dup.csv")
        for r in ann.read_fvc_csv(fvc_dir / name, EXCLUDE_ALL)
    ]
    ann.flag_duplicates(rows)
    by_id: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        by_id.setdefault(str(r["video_id"]), []).append(r)
    repeated = {k: v for k, v in by_id.items() if len(v) > 1}
    assert repeated, "the real FVC files repeat some videos"
    for vid, same in repeated.items():
        labels = {r["label_raw"] for r in same}
        statuses = [r["status"] for r in same]
        if len(labels) > 1:
            assert statuses == [ann.LABEL_CONFLICT] * len(same), vid
            assert all(vid in str(r["error"]) for r in same)
        else:
            assert statuses[0] != ann.DUPLICATE and statuses[1:] == [ann.DUPLICATE] * (
                len(same) - 1
            )
    assert sum(len(v) for v in by_id.values()) == len(rows)

    groups = ann.group_ids(rows)
    for same in repeated.values():
        assert len({groups[str(r["cascade_id"])] for r in same}) == 1
    frame = ann.to_frame(rows)
    assert frame.height == len(rows) and frame["group_id"].null_count() == 0


def test_extra_label_mapping(tmp_path: Path) -> None:
    csv = tmp_path / "FVC_dup.csv"
    csv.write_text(
        "cascade_id,video_url,label\n"
        "f0,https://www.youtube.com/watch?v=AAAAAAAAAAA,debunked\n"
        "f0,https://www.youtube.com/watch?v=BBBBBBBBBBB,parody\n"
        "f0,https://vimeo.com/1,fake\n"
        "f0,https://www.youtube.com/watch?v=CCCCCCCCCCC,weird\n"
        ",https://www.youtube.com/watch?v=DDDDDDDDDDD,fake\n"
    )
    rows = ann.read_fvc_csv(csv, {"debunked": "real", "parody": "exclude"})
    assert [r["status"] for r in rows] == [
        ann.OK,
        ann.LABEL_EXCLUDED,
        ann.BAD_URL,
        ann.BAD_ROW,
        ann.BAD_ROW,
    ]
    assert rows[0]["label"] == "real" and rows[0]["label_raw"] == "debunked"
    assert "FVC_dup.csv:4" in str(rows[2]["error"]) and "weird" in str(rows[3]["error"])
    with pytest.raises(ValueError, match=r"corpus.extra_labels.parody"):
        ann.read_fvc_csv(csv, {"parody": "maybe"})
    with pytest.raises(ValueError, match=r"corpus.extra_labels.satire: unknown key"):
        ann.read_fvc_csv(csv, {"satire": "fake"})


def test_missing_columns_named(tmp_path: Path) -> None:
    bad = tmp_path / "FVC.csv"
    bad.write_text("id,url\n1,x\n")
    with pytest.raises(
        ValueError, match=r"FVC.csv: missing columns \['cascade_id', 'video_url', 'label'\]"
    ):
        ann.read_fvc_csv(bad, {})


def test_manifest(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "path,label,group\na/clip.mp4,real,g1\nb/clip.mp4,FAKE,\nc.mp4,maybe,\n,real,\n"
    )
    rows = ann.read_manifest(manifest)
    assert [r["status"] for r in rows] == [ann.OK, ann.OK, ann.BAD_ROW, ann.BAD_ROW]
    assert rows[0]["video_id"] == "a==clip.mp4" and rows[1]["video_id"] == "b==clip.mp4"
    assert rows[0]["cascade_id"] == "g1" and rows[1]["cascade_id"] == "b==clip.mp4"
    assert rows[1]["label"] == "fake" and rows[0]["path"] == str(tmp_path / "a" / "clip.mp4")


def test_manifest_ids_are_injective_and_file_name_safe(tmp_path: Path) -> None:
    # Pairs that clashed or could clash: same stem, same name in other folders, names that
    # spell the encoding of a separator, a variant id, a hidden or option-like name.
    paths = [
        "a/x/v.mp4",
        "b/x/v.mp4",
        "a/x/v.webm",
        "a==x==v.mp4",
        "a=3d==3d=x.mp4",
        "a__v1.mp4",
        "a.mp4~v1",
        "a.mp4=7e=v1",
        ".hidden.mp4",
        "=2e=hidden.mp4",
        "-rf.mp4",
        "clip one.mp4",
        "clip_one.mp4",
        "clip=20=one.mp4",
        "vidéo.mp4",
        "/".join(["deep"] * 60) + "/v.mp4",
        "/".join(["deep"] * 60) + "/w.mp4",
    ]
    ids = [encode_path(p) for p in paths]
    assert len(set(ids)) == len(paths)
    assert all(is_source_id(i) and len(i) <= MAX_ID_LENGTH for i in ids)
    assert ids[:3] == ["a==x==v.mp4", "b==x==v.mp4", "a==x==v.webm"]
    assert ids[8] == "=2e=hidden.mp4" and ids[10] == "=2d=rf.mp4"
    assert ids[15].startswith("=h") and ids[15].endswith("==deep==v.mp4")
    # no source id (FVC or manifest) can spell another source's variant id
    assert not is_source_id(variant_id("a.mp4", 1)) and "~" not in "".join(ids)


@pytest.mark.parametrize("fvc_id", ["-abcDEF_123", "AAAAAAAAAAA", "123456789012345678"])
def test_fvc_ids_are_source_ids_as_they_are(fvc_id: str) -> None:
    assert is_source_id(fvc_id)
