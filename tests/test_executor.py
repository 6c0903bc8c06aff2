"""The per-video executor on real files: caching, failures as rows, resume, all three backends.

Stage functions live at module level so worker processes can import them; each call leaves a
marker file, which is how calls are counted across processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from aura.executor import ExecutorConfig, Task, atomic_path, run_tasks
from aura.executor.backends import WORKER_CRASHED

REPO = Path(__file__).resolve().parents[1]
SERIAL = ExecutorConfig(progress=False)


# --- stage functions (top level: picklable) -------------------------------------------------


def count_fn(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Mark the call, then fail on ``args.fail`` or summarise the input file."""
    marks = Path(params["marker_dir"])
    marks.mkdir(parents=True, exist_ok=True)
    (marks / f"{task.key}.{os.getpid()}.{uuid.uuid4().hex}").touch()
    time.sleep(params.get("sleep", 0.0))
    if task.args.get("fail"):
        raise ValueError(f"cannot process {task.key}")
    data = Path(task.path).read_bytes()
    return {
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "scaled": len(data) * params["scale"],
        "pair": (1, 2),  # a tuple: fresh and cached results must both read back as a list
    }


def crashy_fn(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Like :func:`count_fn`, but ``args.crash`` kills the worker process outright."""
    if task.args.get("crash"):
        os._exit(7)
    return count_fn(task, params)


def video_fn(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Probe a video and write a shortened copy through ``atomic_path``."""
    from aura.video import probe, sample_frames, write_video

    info = probe(task.path)
    clip = sample_frames(task.path, params["n"])
    out = Path(params["out_dir"]) / f"{task.key}.mp4"
    with atomic_path(out) as tmp:
        write_video(tmp, clip.frames, fps=info.fps)
    return {"n_frames": info.n_frames, "width": info.width, "out": out.name}


# --- helpers ---------------------------------------------------------------------------------


def calls(marker_dir: Path) -> Counter[str]:
    """How many times each task key was called."""
    if not marker_dir.is_dir():
        return Counter()
    return Counter(p.name.split(".")[0] for p in marker_dir.iterdir())


def make_inputs(root: Path, n: int, fail: tuple[int, ...] = ()) -> list[Task]:
    root.mkdir(parents=True, exist_ok=True)
    tasks = []
    for i in range(n):
        path = root / f"v{i:02d}.bin"
        path.write_bytes(bytes(range(i % 7)) * (i + 1))
        tasks.append(Task(key=f"v{i:02d}", path=str(path), args={"fail": i in fail}))
    return tasks


def cached_keys(stage_dir: Path) -> set[str]:
    """Task keys that have a complete cache file."""
    keys = set()
    for p in stage_dir.glob("*/*.json"):
        try:
            keys.add(json.loads(p.read_text())["key"])
        except (ValueError, KeyError):
            pass
    return keys


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    tasks = make_inputs(tmp_path / "in", 8, fail=(2, 5))
    marks = tmp_path / "marks"
    return {
        "tasks": tasks,
        "marks": marks,
        "cache": tmp_path / "cache",
        "params": {"marker_dir": str(marks), "scale": 3},
    }


def run(
    env: dict[str, Any], config: ExecutorConfig = SERIAL, fn: Any = count_fn, **kw: Any
) -> list[dict]:
    args = {"stage": "probe", "params": env["params"], "cache_dir": env["cache"], "config": config}
    return run_tasks(fn, kw.pop("tasks", env["tasks"]), **{**args, **kw})


# --- tests -----------------------------------------------------------------------------------


def test_serial_keeps_order_and_turns_failures_into_rows(
    env: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aura.executor")
    rows = run(env)
    assert [r["key"] for r in rows] == [t.key for t in env["tasks"]]
    assert [r["status"] for r in rows] == ["ok", "ok", "failed", "ok", "ok", "failed", "ok", "ok"]
    assert rows[2] == {"key": "v02", "status": "failed", "error": "ValueError: cannot process v02"}
    data = Path(env["tasks"][3].path).read_bytes()
    assert rows[3] == {
        "key": "v03", "size": len(data), "md5": hashlib.md5(data).hexdigest(),
        "scaled": 3 * len(data), "pair": [1, 2], "status": "ok",
    }  # fmt: skip
    assert calls(env["marks"]) == Counter({t.key: 1 for t in env["tasks"]})
    assert "stage=probe backend=serial tasks=8 cached=0 computed=8 failed=2 in" in caplog.text


def test_second_run_is_served_from_cache(env: dict, caplog: pytest.LogCaptureFixture) -> None:
    first = run(env)
    caplog.set_level(logging.INFO, logger="aura.executor")
    second = run(env)
    assert second == first
    assert calls(env["marks"]) == Counter({t.key: 1 for t in env["tasks"]})  # nothing re-ran
    assert "tasks=8 cached=8 computed=0 failed=2" in caplog.text
    assert "reusing 2 cached failures" in caplog.text


def test_changed_params_recompute_everything(env: dict) -> None:
    run(env)
    rows = run(env, params={**env["params"], "scale": 5})
    assert calls(env["marks"]) == Counter({t.key: 2 for t in env["tasks"]})
    assert rows[0]["scaled"] == 0 and rows[1]["scaled"] == 5 * len(
        Path(env["tasks"][1].path).read_bytes()
    )


def test_changed_input_content_recomputes_only_that_task(env: dict) -> None:
    before = run(env)
    path = Path(env["tasks"][4].path)
    path.write_bytes(b"new content")
    after = run(env)
    assert calls(env["marks"])["v04"] == 2
    assert sum(calls(env["marks"]).values()) == len(env["tasks"]) + 1
    assert after[4]["md5"] == hashlib.md5(b"new content").hexdigest()
    assert after[:4] == before[:4] and after[5:] == before[5:]


def test_failures_are_cached_unless_retry_failed(env: dict) -> None:
    run(env)
    run(env)
    assert calls(env["marks"])["v02"] == 1
    rows = run(env, config=ExecutorConfig(progress=False, retry_failed=True))
    c = calls(env["marks"])
    assert c["v02"] == c["v05"] == 2 and c["v00"] == 1
    assert rows[2]["status"] == "failed"


def test_missing_input_is_a_failed_row_that_is_not_cached(env: dict) -> None:
    Path(env["tasks"][0].path).unlink()
    rows = run(env)
    assert rows[0]["status"] == "failed" and rows[0]["error"].startswith("FileNotFoundError: ")
    assert "v00" not in calls(env["marks"])
    Path(env["tasks"][0].path).write_bytes(b"back")
    assert run(env)[0]["status"] == "ok"


def test_corrupt_or_truncated_cache_file_is_ignored_and_recomputed(env: dict) -> None:
    first = run(env)
    files = sorted((env["cache"] / "probe").glob("*/*.json"))
    assert len(files) == 8
    by_key = {json.loads(p.read_text())["key"]: p for p in files}
    text = by_key["v01"].read_text()
    by_key["v01"].write_text(text[: len(text) // 2])  # truncated mid-write
    by_key["v03"].write_text("")
    by_key["v06"].write_text(json.dumps({"key": "v06", "result": {"key": "v06"}}))  # wrong shape
    assert run(env) == first
    c = calls(env["marks"])
    assert {k for k, n in c.items() if n == 2} == {"v01", "v03", "v06"}


def test_killed_stage_resumes_without_redoing_finished_tasks(tmp_path: Path) -> None:
    tasks = make_inputs(tmp_path / "in", 12, fail=(3,))
    marks, cache = tmp_path / "marks", tmp_path / "cache"
    params = {"marker_dir": str(marks), "scale": 1, "sleep": 0.15}
    spec = {"tasks": [t.__dict__ for t in tasks], "params": params, "cache_dir": str(cache)}
    script = (
        "import json, sys\n"
        "from aura.executor import ExecutorConfig, Task, run_tasks\n"
        "from tests.test_executor import count_fn\n"
        "s = json.loads(sys.argv[1])\n"
        "run_tasks(count_fn, [Task(**t) for t in s['tasks']], stage='probe', params=s['params'],\n"
        "          cache_dir=s['cache_dir'], config=ExecutorConfig(progress=False))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script, json.dumps(spec)], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(cached_keys(cache / "probe")) < 4:
            assert proc.poll() is None, "the stage ended before it could be killed"
            assert time.monotonic() < deadline, "the stage made no progress"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    done = cached_keys(cache / "probe")
    assert 4 <= len(done) < len(tasks)

    resumed = run_tasks(
        count_fn, tasks, stage="probe", params=params, cache_dir=cache, config=SERIAL
    )
    c = calls(marks)
    assert all(c[k] == 1 for k in done), c  # finished before the kill: not redone
    assert all(c[t.key] >= 1 for t in tasks)
    clean = run_tasks(
        count_fn, tasks, stage="probe", params=params, cache_dir=tmp_path / "clean", config=SERIAL
    )
    assert resumed == clean


def test_processes_backend_matches_serial_and_survives_a_dying_worker(
    env: dict, tmp_path: Path
) -> None:
    crash = Task(key="v99", path=env["tasks"][0].path, args={"crash": True})
    tasks = env["tasks"][:4] + [crash] + env["tasks"][4:]
    cfg = ExecutorConfig(backend="processes", workers=2, progress=False)
    rows = run(env, cfg, fn=crashy_fn, tasks=tasks)
    pids = {int(p.name.split(".")[1]) for p in env["marks"].iterdir()}
    assert os.getpid() not in pids  # the work really ran in worker processes
    reference = run(env, cache_dir=tmp_path / "ref")
    assert rows[4] == {"key": "v99", "status": "failed", "error": WORKER_CRASHED}
    assert rows[:4] + rows[5:] == reference
    before = calls(env["marks"])
    assert run(env, cfg, fn=crashy_fn, tasks=tasks) == rows  # crash cached: no pool needed
    assert calls(env["marks"]) == before


def test_dask_local_cluster_matches_serial(env: dict, tmp_path: Path) -> None:
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    crash = Task(key="v99", path=env["tasks"][0].path, args={"crash": True})
    tasks = [*env["tasks"], crash]
    cfg = ExecutorConfig(backend="dask", workers=2, progress=False)
    environ = dict(os.environ)
    # Give up on a task after its first dead worker (default 3 retries): keeps the test short.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        rows = run(env, cfg, fn=crashy_fn, tasks=tasks)
    reference = run(env, cache_dir=tmp_path / "ref")
    assert rows[:-1] == reference
    assert rows[-1] == {"key": "v99", "status": "failed", "error": WORKER_CRASHED}
    # the LocalCluster's OMP_NUM_THREADS=1 & co. do not leak into this process (torch after it)
    assert dict(os.environ) == environ


def test_dask_connects_to_an_existing_scheduler(env: dict, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        cfg = ExecutorConfig(
            backend="dask", scheduler_address=cluster.scheduler_address, progress=False
        )
        rows = run(env, cfg)
    assert rows == run(env, cache_dir=tmp_path / "ref")


def test_real_videos_and_atomic_outputs(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    from aura.video import write_video

    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(12)]
    good = write_video(tmp_path / "in" / "good.mp4", frames, fps=12)
    bad = tmp_path / "in" / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(500))
    out = tmp_path / "out"
    tasks = [Task("good", str(good), {}), Task("bad", str(bad), {})]
    params = {"n": 4, "out_dir": str(out)}
    rows = run_tasks(
        video_fn, tasks, stage="video", params=params, cache_dir=tmp_path / "c", config=SERIAL
    )
    assert rows[0] == {
        "key": "good",
        "n_frames": 12,
        "width": 64,
        "out": "good.mp4",
        "status": "ok",
    }
    assert rows[1]["status"] == "failed" and rows[1]["error"].startswith("VideoDecodeError: ")
    assert sorted(p.name for p in out.iterdir()) == ["good.mp4"]  # no temp file, no partial
    from aura.video import probe

    assert probe(out / "good.mp4").n_frames == 4


def test_atomic_path_leaves_nothing_on_error(tmp_path: Path) -> None:
    final = tmp_path / "sub" / "x.npy"
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        assert tmp.parent == final.parent and tmp.suffix == ".npy" and tmp != final
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert list(final.parent.iterdir()) == []
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"done")
    assert final.read_bytes() == b"done" and list(final.parent.iterdir()) == [final]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"backend": "foo"}, "executor.backend='foo': expected serial, processes or dask"),
        ({"workers": 0}, "executor.workers=0"),
        ({"workers": "many"}, "executor.workers='many'"),
        ({"progress": "maybe"}, "executor.progress='maybe'"),
        ({"retry_failed": 1.5}, "executor.retry_failed=1.5"),
        ({"scheduler_address": ""}, "executor.scheduler_address=''"),
        ({"backend": "dask", "threads": 2}, "executor.threads: unknown key"),
    ],
)
def test_config_validation_names_the_key(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ExecutorConfig.from_params(params)


def test_config_from_params_accepts_cli_strings() -> None:
    assert ExecutorConfig.from_params(None) == ExecutorConfig()
    cfg = ExecutorConfig.from_params(
        {"backend": "Processes", "workers": "3", "progress": "false", "retry_failed": "true"}
    )
    assert cfg == ExecutorConfig(backend="processes", workers=3, progress=False, retry_failed=True)
    assert ExecutorConfig().n_workers >= 1


def test_bad_calls_raise(env: dict) -> None:
    with pytest.raises(ValueError, match="duplicate task key 'v00'"):
        run(env, tasks=[env["tasks"][0], env["tasks"][0]])
    with pytest.raises(ValueError, match="stage='../x'"):
        run(env, stage="../x")
    with pytest.raises(TypeError, match="top-level"):
        run(env, ExecutorConfig(backend="processes", progress=False), fn=lambda t, p: {})
