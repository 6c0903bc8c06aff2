"""Overhead of scoring through ``aura predict`` and the served model, next to the bare work.

    python bench/predict.py [--project .] [--families features,naive_cnn,...] [--repeats 3]
                            [--demo 4] [--no-serve] [--work DIR] [--profile FAMILY]

Run it in (or point ``--project`` at) a project after ``make run``: it uses that project's fold
models, out-of-fold predictions, resolved config, demo videos and MLflow store, and writes only
under ``--work`` (default ``<project>/data/bench/predict``: generated clips, detectors).

Per model family (``features``: logistic_regression or svm; ``naive_cnn``; ``r3d18_inception``;
``vit``: vit_gru or vit_transformer; ``x3d``; ``slowfast``; a model name also works) the first
trained model becomes a one-model fold-ensemble detector (its K fold models, calibration and
threshold fitted on its out-of-fold predictions by :func:`aura.release.build.assemble`), saved
with ``save_detector``. Then, on three groups of files, side by side and alternated
(bare, predict, then predict, bare, ...) after one untimed warm-up of each:

  bare     ``load_artifact`` of the K part files, then per video ``prepare_video`` (probe,
           sampling, scaling, features or clips) in a temporary folder and each fold model's
           forward pass (``predict_proba`` / the network), called directly
  predict  ``aura predict FILES --detector DIR --no-progress`` in-process (click's CliRunner):
           load_detector (SHA-256 checks, manifest), predict_videos, the rendered table

Groups: ``demo`` (the first ``--demo`` good originals of ``data/01_raw/demo``), ``720p`` (a
generated 1280x720 10-s clip) and ``1080x1920`` (a generated 15-s portrait clip), both 30 fps.
Seconds per video are medians over ``--repeats``; the ratio is predict / bare (target <= 1.15);
``spread`` the larger run-to-run range of the two sides. ``load s`` is the median
``load_detector`` time. Before timing, the bare inputs and logits are
checked to equal the detector's own on one demo file. Each family's note gives the share of
the CPUs other processes used while it ran: torch's two threads per process make timings on a
busy 2-core machine swing by 2x, so rerun (``--families``) what ran beside other work.

Serving: ``mlflow models serve`` of the project's newest logged model ("model") on a free local
port; the 720p clip POSTed as ``{"dataframe_records": [{"path": ...}]}``, one warm-up, then the
round trip alternated with in-process ``predict_videos`` (the project's newest released
detector) on the same file; ratio of the medians, target <= 1.3.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import logging
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _serving import ServeError, newest_model_uri, post_paths, served  # bench/ is on sys.path

FAMILIES: dict[str, tuple[str, ...]] = {
    "features": ("logistic_regression", "svm"),
    "naive_cnn": ("naive_cnn",),
    "r3d18_inception": ("r3d18_inception",),
    "vit": ("vit_gru", "vit_transformer"),
    "x3d": ("x3d",),
    "slowfast": ("slowfast",),
}
#: (name, width, height, seconds) of the generated clips (30 fps).
CLIPS = (("720p", 1280, 720, 10.0), ("1080x1920", 1080, 1920, 15.0))
PREDICT_TARGET = 1.15
SERVE_TARGET = 1.3


# --------------------------------------------------------------------------- inputs


def _frames(width: int, height: int, n: int) -> Iterator[np.ndarray]:
    """Camera-like frames: a smooth panning scene, a moving disc and (cycled) sensor noise."""
    import cv2

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : height + 64, 0 : width + 64].astype(np.float32)
    scene = np.stack([xx / (width + 64) * 200, yy / (height + 64) * 180 + 30, (xx + yy) % 256], -1)
    scene = cv2.GaussianBlur(scene, (0, 0), 3).astype(np.uint8)
    noise = [rng.normal(0, 2, (height, width, 3)).astype(np.int16) for _ in range(5)]
    for i in range(n):
        frame = np.ascontiguousarray(scene[i % 64 : i % 64 + height, i % 64 : i % 64 + width])
        radius = max(4, min(width, height) // 8)
        cv2.circle(frame, ((i * 7) % width, height // 2), radius, (230, 40, 40), -1)
        yield np.clip(frame.astype(np.int16) + noise[i % 5], 0, 255).astype(np.uint8)


def make_clips(folder: Path) -> dict[str, Path]:
    """The generated clips, written once (atomically) and reused."""
    from aura.video import write_video

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, w, h, secs in CLIPS:
        path = folder / f"{w}x{h}_{secs:g}s.mp4"
        if not path.is_file() or path.stat().st_size == 0:
            t0 = time.perf_counter()
            tmp = path.with_name(f".tmp_{path.name}")
            write_video(tmp, _frames(w, h, int(secs * 30)), fps=30, gop=60, crf=26)
            tmp.replace(path)
            print(f"generated {path} in {time.perf_counter() - t0:.1f}s", flush=True)
        out[name] = path
    return out


def demo_files(project: Path, n: int) -> list[Path]:
    """The first ``n`` good originals (by video id) of the project's demo corpus."""
    root = project / "data" / "01_raw" / "demo"
    manifest = root / "demo_manifest.json"
    if not manifest.is_file():
        return []
    videos = json.loads(manifest.read_text())["videos"]
    good = sorted(
        (v for v in videos if v.get("kind") == "original" and not v.get("hostile")),
        key=lambda v: v["video_id"],
    )
    paths = [root / v["path"] for v in good]
    return [p for p in paths if p.is_file()][:n]


# --------------------------------------------------------------------------- project


@dataclass
class Project:
    root: Path
    config: Any  # AuraConfig
    catalog: Any


def open_project(root: Path) -> Project:
    """The project's resolved config and catalog, through a Kedro session."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from aura.parameters import resolve

    bootstrap_project(root)
    session = KedroSession.create(project_path=root)
    context = session.load_context()
    for name in ("kedro", "kedro_mlflow", "aura"):
        logging.getLogger(name).setLevel(logging.WARNING)
    config = resolve(context.config_loader["parameters"])
    return Project(root, config, context.catalog)


@dataclass
class Family:
    name: str
    model: str
    folder: Path  # the saved detector
    parts: list[tuple[str, Path]] = field(default_factory=list)  # (kind, part file)


def build_family(project: Project, family: str, scratch: Path) -> Family | str:
    """A one-model fold-ensemble detector of ``family``, saved under ``scratch``; or why not."""
    from aura.release import save_detector
    from aura.release.build import assemble, fold_members

    config = project.config
    candidates = FAMILIES.get(family, (family,))
    trained = [m for m in candidates if m in config.training.models]
    if not trained:
        return f"none of {list(candidates)} is in training.models"
    model = trained[0]
    cells = {}
    for k in range(config.training.n_folds):
        try:
            cells[(model, k)] = project.catalog.load(f"{model}.fold_{k}.model")
        except Exception as err:  # a fold never trained here
            return f"{model}.fold_{k}.model: {type(err).__name__}: {str(err)[:120]}"
    members = fold_members(cells, [model])
    detector = assemble(
        members,
        strategy="fold_ensemble",
        cv_predictions=project.catalog.load("cv_predictions"),
        cv_folds=project.catalog.load("cv_folds"),
        config=config,
        calibration=config.release.calibration,
        threshold_rule=config.release.threshold,
    )
    folder = scratch / family / detector.version / "detector"
    save_detector(detector, folder)
    parts = [(m.kind, folder / "parts" / m.file) for m in members]
    return Family(family, model, folder, parts)


# --------------------------------------------------------------------------- the two paths


def bare_spec(project: Project, fam: Family) -> Any:
    """The InputSpec from the config and the part files alone (no manifest)."""
    from aura.inference.inputs import ClipSpec
    from aura.inference.prepare import input_spec_from_config
    from aura.models.artifacts import load_artifact

    clips: list[ClipSpec] = []
    for kind, path in fam.parts:
        if kind == "clips":
            cfg = load_artifact(path, "safetensors").config
            clips.append(ClipSpec(cfg.num_frames, cfg.clip_size))
    inf = project.config.inference
    clips = sorted(set(clips), key=lambda c: (c.num_frames, -1 if c.size is None else c.size))
    features = any(kind == "features" for kind, _ in fam.parts)
    return input_spec_from_config(project.config, clips, features, inf.segment_s, inf.max_segments)


def _forward(kind: str, artifact: Any, video: Any) -> tuple[float, np.ndarray]:
    """One fold model's (whole, per-segment) logits, called directly."""
    import torch

    from aura.inference.inputs import ClipSpec
    from aura.models.kinds import logit

    if kind == "features":
        whole = float(logit(artifact.predict_proba(video.features))[0])
        segs = video.segment_features
        return whole, logit(artifact.predict_proba(segs)) if segs.height else np.zeros(0)
    net = artifact.network()
    spec = ClipSpec(artifact.config.num_frames, artifact.config.clip_size)
    with torch.inference_mode():
        whole = float(net(video.clips[spec]).reshape(-1)[0])
        seg = video.segment_clips[spec]
        segs = net(seg).reshape(-1).double().numpy() if len(seg) else np.zeros(0)
    return whole, segs


def run_bare(fam: Family, spec: Any, files: Sequence[Path]) -> list[list[tuple[float, Any]]]:
    """Load the part files, prepare each video and run each fold model on it."""
    from aura.inference.prepare import prepare_video
    from aura.models.artifacts import load_artifact

    fmt = {"features": "skops", "clips": "safetensors"}
    models = [(kind, load_artifact(path, fmt[kind])) for kind, path in fam.parts]  # type: ignore[arg-type]
    out = []
    for f in files:
        with tempfile.TemporaryDirectory(prefix="aura-bare-") as tmp:
            video = prepare_video(f, spec, Path(tmp))
            out.append([_forward(kind, a, video) for kind, a in models])
    return out


def run_predict(fam: Family, files: Sequence[Path]) -> str:
    """``aura predict`` in-process; its output (raises when it fails or a file failed)."""
    from click.testing import CliRunner

    from aura.console import main

    args = ["predict", *map(str, files), "--detector", str(fam.folder), "--no-progress"]
    res = CliRunner().invoke(main, args)
    if res.exit_code != 0 or f"ok: {len(files)}" not in res.output:
        raise RuntimeError(f"aura predict failed ({res.exit_code}): {res.output[-400:]}")
    return res.output


def check_same(project: Project, fam: Family, spec: Any, file: Path) -> str:
    """Whether the bare spec and logits equal the detector's own on ``file``."""
    from aura.inference.prepare import prepare_video
    from aura.release import load_detector

    detector = load_detector(fam.folder)
    inf = project.config.inference
    if detector.input_spec(inf.segment_s, inf.max_segments) != spec:
        return "NO: the bare InputSpec differs from the detector's"
    with tempfile.TemporaryDirectory() as tmp:
        video = prepare_video(file, spec, Path(tmp))
        ours = [(w, s) for _, w, s in detector.member_logits(video)]
    (bare,) = run_bare(fam, spec, [file])
    same = all(
        abs(a[0] - b[0]) < 1e-5 and np.allclose(a[1], b[1], atol=1e-5)
        for a, b in zip(ours, bare, strict=True)
    )
    return "yes" if same else "NO: logits differ"


class OtherLoad:
    """Share of the machine's CPU time that other processes used since the last call
    (``/proc/stat`` busy time minus this process's own, children included)."""

    def __init__(self) -> None:
        self._last = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float] | None:
        try:
            ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return None
        busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        own = sum(os.times()[:4])
        return busy, own, time.perf_counter()

    def share(self) -> str:
        now, last = self._now(), self._last
        self._last = now
        if now is None or last is None or now[2] <= last[2]:
            return "unknown"
        other = (now[0] - last[0]) - (now[1] - last[1])
        return f"{max(other, 0.0) / ((now[2] - last[2]) * (os.cpu_count() or 1)):.0%}"


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- serving


def bench_serving(project: Path, clip: Path, repeats: int, work: Path, wait_s: float) -> str:
    """The serving line: served round trip vs in-process predict_videos on ``clip``."""
    from aura.inference.predict import VideoRequest, predict_videos
    from aura.release import latest_detector, load_detector

    uri, model_id = newest_model_uri(project)
    if uri is None:
        return f"serving: skipped ({model_id})"
    folder = latest_detector(project)
    if folder is None:
        return "serving: skipped (no released detector for the in-process side)"
    detector = load_detector(folder)
    config = detector.inference_config()
    request = [VideoRequest(name=str(clip), path=str(clip))]
    t0 = time.perf_counter()
    try:
        with served(project, uri, work / "serve.log", wait_s) as base:
            ready = time.perf_counter() - t0
            post_paths(base, [clip])  # warm-up of both (first request, lazy imports)
            predict_videos(request, detector, config)
            remote, local, rows = [], [], []
            for r in range(repeats):  # served, local, then local, served, ...
                if r % 2:
                    local.append(timed(lambda: predict_videos(request, detector, config)))
                seconds, rows = post_paths(base, [clip])
                remote.append(seconds)
                if not r % 2:
                    local.append(timed(lambda: predict_videos(request, detector, config)))
    except ServeError as err:
        return f"serving: FAILED, {err}"
    row = rows[0] if rows else {}
    if row.get("status") != "ok":
        return f"serving: FAILED, the served row is {row}"
    s_med, l_med = statistics.median(remote), statistics.median(local)
    ratio = s_med / l_med
    same = row.get("detector_version") == detector.version
    verdict = "PASS" if ratio <= SERVE_TARGET else "FAIL"
    return (
        f"serving ({uri}, model {model_id}; ready in {ready:.0f}s): 720p served "
        f"{s_med:.2f} s vs in-process predict_videos {l_med:.2f} s, ratio {ratio:.2f} "
        f"(target <= {SERVE_TARGET}) {verdict}; median of {repeats} after one warm-up; "
        f"same detector version: {'yes' if same else 'NO'} ({row.get('detector_version')})"
    )


# --------------------------------------------------------------------------- main


@dataclass
class Row:
    family: str
    clip: str
    n: int
    bare: float  # s/video (median)
    predict: float
    load: float
    spread: float  # the larger (max - min) / median of the two sides' runs: the noise level


def bench_family(
    project: Project, fam: Family, groups: dict[str, list[Path]], repeats: int
) -> tuple[list[Row], str]:
    from aura.release import load_detector

    spec = bare_spec(project, fam)
    first = next(iter(groups.values()))[:1]
    same = check_same(project, fam, spec, first[0])
    run_bare(fam, spec, first)  # warm-up of both paths (lazy imports, thread pools)
    run_predict(fam, first)
    loads = [timed(lambda: load_detector(fam.folder)) for _ in range(max(repeats, 3))]
    times: dict[str, dict[str, list[float]]] = {g: {"bare": [], "predict": []} for g in groups}
    run = {
        "bare": lambda files: run_bare(fam, spec, files),
        "predict": lambda files: run_predict(fam, files),
    }
    # A full cyclic-GC pass over this process (kedro, mlflow, torch, ... loaded) takes ~0.5 s
    # and lands in whichever run crosses the threshold: a lone 0.5 s spike in one side's
    # median. Freezing what exists now keeps those passes to the runs' own objects.
    gc.collect()
    gc.freeze()
    try:
        for r in range(repeats):
            # A B, then B A: neither side always runs second (after the other's frees)
            order = ("bare", "predict") if r % 2 == 0 else ("predict", "bare")
            for g, files in groups.items():
                for side in order:
                    times[g][side].append(timed(lambda f=files, s=side: run[s](f)) / len(files))
    finally:
        gc.unfreeze()
    load = statistics.median(loads)

    def spread(runs: list[float]) -> float:
        return (max(runs) - min(runs)) / statistics.median(runs)

    rows = []
    for g, files in groups.items():
        bare, pred = times[g]["bare"], times[g]["predict"]
        noise = max(spread(bare), spread(pred))
        median = statistics.median
        rows.append(Row(fam.name, g, len(files), median(bare), median(pred), load, noise))
    return rows, same


def profile_family(fam: Family, files: Sequence[Path], out: Path) -> None:
    """cProfile of one ``aura predict`` run; the top of the cumulative listing."""
    run_predict(fam, files[:1])  # warm-up
    prof = cProfile.Profile()
    prof.runcall(run_predict, fam, files)
    prof.dump_stats(str(out))
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(35)
    print(buf.getvalue())
    print(f"profile written to {out}")


def print_table(rows: list[Row], notes: dict[str, str], models: dict[str, str]) -> None:
    print()
    print(
        "| family | clip | files | bare s/video | predict s/video | ratio | load s | spread | "
        f"vs target <= {PREDICT_TARGET} |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ratio = r.predict / r.bare
        verdict = "PASS" if ratio <= PREDICT_TARGET else "FAIL"
        print(
            f"| {r.family} ({models[r.family]}) | {r.clip} | {r.n} | {r.bare:.3f} | "
            f"{r.predict:.3f} | {ratio:.3f} | {r.load:.3f} | {r.spread:.0%} | {verdict} |"
        )
    print(
        "spread: the larger run-to-run range of the two sides, (max - min) / median; "
        "a ratio within it of the target is noise"
    )
    for name, note in notes.items():
        print(f"{name}: {note}")


def bench_families(
    project: Project,
    families: list[str],
    groups: dict[str, list[Path]],
    repeats: int,
    scratch: Path,
    others: OtherLoad,
) -> tuple[list[Row], dict[str, str], dict[str, str]]:
    """Rows of every family, a note per family and the model each family used."""
    rows: list[Row] = []
    notes: dict[str, str] = {}
    models: dict[str, str] = {}
    for name in families:
        t0 = time.perf_counter()
        others.share()
        fam = build_family(project, name, scratch)
        if isinstance(fam, str):
            notes[name] = f"skipped ({fam})"
            print(f"{name}: skipped ({fam})", flush=True)
            continue
        models[name] = fam.model
        got, same = bench_family(project, fam, groups, repeats)
        rows += got
        busy = others.share()
        notes[name] = (
            f"bare inputs and logits equal the detector's: {same}; "
            f"other processes used {busy} of the CPUs meanwhile"
        )
        summary = ", ".join(f"{r.clip} {r.predict / r.bare:.2f}" for r in got)
        print(
            f"{name} ({fam.model}): {summary} [{time.perf_counter() - t0:.0f}s, others {busy}]",
            flush=True,
        )
    return rows, notes, models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--project", type=Path, default=Path("."), help="project after `make run`")
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma-separated; or models")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per variant (median)")
    ap.add_argument("--demo", type=int, default=4, help="demo originals in the demo group")
    ap.add_argument("--clips", default="demo,720p,1080x1920", help="groups to time")
    ap.add_argument("--no-serve", action="store_true", help="skip the serving line")
    ap.add_argument("--serve-wait", type=float, default=300.0, help="max seconds for /ping")
    ap.add_argument("--work", type=Path, default=None, help="default <project>/data/bench/predict")
    ap.add_argument("--profile", metavar="FAMILY", default=None, help="cProfile aura predict")
    args = ap.parse_args()

    root = args.project.resolve()
    work = (args.work or root / "data" / "bench" / "predict").resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(root)  # catalog paths and the MLflow artifact store are relative to the project
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    warnings.simplefilter("ignore")  # library deprecation notices would bury the table
    t_start = time.perf_counter()
    load_before = os.getloadavg()
    import torch

    print(
        f"project {root}; {os.cpu_count()} CPU(s), torch threads {torch.get_num_threads()}; "
        f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
        flush=True,
    )
    generated = make_clips(work / "clips")
    groups: dict[str, list[Path]] = {
        "demo": demo_files(root, args.demo),
        **{k: [v] for k, v in generated.items()},
    }
    wanted = [g.strip() for g in args.clips.split(",") if g.strip()]
    groups = {g: groups[g] for g in wanted if groups.get(g)}
    if not groups:
        sys.exit(f"no videos to time (clips {wanted}; is {root} a project after `make run`?)")
    project = open_project(root)
    # each run builds its detectors in a folder of its own: runs sharing --work stay apart
    scratch = Path(tempfile.mkdtemp(prefix="detectors-", dir=work))
    others = OtherLoad()
    try:
        if args.profile:
            fam = build_family(project, args.profile, scratch)
            if isinstance(fam, str):
                sys.exit(f"{args.profile}: {fam}")
            profile_family(fam, [p for g in groups.values() for p in g], work / "predict.prof")
            return
        families = [f.strip() for f in args.families.split(",") if f.strip()]
        rows, notes, models = bench_families(
            project, families, groups, max(1, args.repeats), scratch, others
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    serve = "serving: skipped (--no-serve)"
    if not args.no_serve and "720p" in generated:
        print("serving ...", flush=True)
        others.share()
        serve = bench_serving(root, generated["720p"], max(1, args.repeats), work, args.serve_wait)
        serve += (
            f"; other processes (the model server among them) used {others.share()} of the CPUs"
        )
    load_after = os.getloadavg()
    print(
        f"\nmedians of {args.repeats} alternated runs (bare, predict, predict, bare, ...) after "
        "one warm-up; "
        f"ratio = predict / bare; demo = {len(groups.get('demo', []))} files"
    )
    print_table(rows, notes, models)
    print(serve)
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"(1 min); total {time.perf_counter() - t_start:.0f}s"
    )


if __name__ == "__main__":
    main()
