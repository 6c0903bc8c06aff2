"""The per-video executor on real files: caching, failures as rows, resume, all three backends.

Stage functions live at module level so worker processes can import them; each call leaves a
marker file, which is how calls are counted across processes.
"""

from __future__ import annotations

import contextlib
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


def slow_fn(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Like :func:`count_fn`, then ``args.hang_s`` seconds asleep (``args.hang='sleep'``) or
    busy (``'spin'``), halfway through writing ``task.output`` when it has one."""
    row = count_fn(task, params)
    with contextlib.ExitStack() as stack:
        if task.output:
            stack.enter_context(atomic_path(task.output)).write_bytes(b"partial")
        hang_s = float(task.args.get("hang_s", 0.0))
        if task.args.get("hang") == "spin":
            end = time.monotonic() + hang_s
            while time.monotonic() < end:
                pass
        else:
            time.sleep(hang_s)
    return row


def write_fn(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Mark the call and write ``task.output`` from the input's bytes (``args.lie``: write none)."""
    count_fn(task, params)
    if not task.args.get("lie"):
        data = task.key.encode() + Path(task.path).read_bytes()
        with atomic_path(task.output) as tmp:
            tmp.write_bytes(data[::-1] * 50)
    return {"output": task.output}


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


def with_hang(
    env: dict[str, Any], mode: str, hang_s: float, output: Path | None = None
) -> list[Task]:
    """``env``'s tasks with a slow one, ``v99`` (writing ``output``, if given), fourth."""
    args = {"hang": mode, "hang_s": hang_s}
    slow = Task("v99", env["tasks"][0].path, args, output=str(output) if output else None)
    return [*env["tasks"][:3], slow, *env["tasks"][3:]]


def cached_keys(stage_dir: Path) -> set[str]:
    """Task keys that have a complete cache file."""
    keys = set()
    for p in stage_dir.glob("*/*.json"):
        if p.name.startswith("."):  # a cache file being written (renamed when complete)
            continue
        try:
            keys.add(json.loads(p.read_text())["key"])
        except (OSError, ValueError, KeyError):
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


def test_remove_partial_takes_only_the_killed_writers_temp_file(tmp_path: Path) -> None:
    from aura.executor.cache import remove_partial

    names = [
        ".v.tmp-123-0123abcd.mp4",  # what pid 123 was writing for v.mp4: goes
        ".v.tmp-456-0123abcd.mp4",  # another live writer of v.mp4 (a concurrent run): stays
        ".v.x.tmp-123-0123abcd.mp4",  # pid 123's temp file for v.x.mp4: stays
        "v.mp4",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert remove_partial(tmp_path / "v.mp4", 123) == [tmp_path / names[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])
    assert remove_partial(None, 123) == [] and remove_partial(tmp_path / "v.mp4", None) == []


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


TIMEOUT_S = 1.5


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sleep", "spin"])
def test_processes_backend_stops_a_task_past_task_timeout_s(
    env: dict, tmp_path: Path, mode: str
) -> None:
    cfg = ExecutorConfig(backend="processes", workers=2, progress=False, task_timeout_s=TIMEOUT_S)
    t0 = time.monotonic()
    rows = run(env, cfg, fn=slow_fn, tasks=with_hang(env, mode, 300, tmp_path / "out" / "v.bin"))
    wall = time.monotonic() - t0
    assert rows[3]["key"] == "v99" and rows[3]["status"] == "timeout"
    assert "executor.task_timeout_s=1.5 s" in rows[3]["error"]
    assert rows[:3] + rows[4:] == run(env, cache_dir=tmp_path / "ref")  # the others: as serial
    assert list((tmp_path / "out").iterdir()) == []  # its half-written temp file was removed
    assert wall < 30, f"the stage took {wall:.1f} s"  # measured ≈ 3 s; the slow task wants 300 s


@pytest.mark.slow
def test_timeouts_are_cached_until_retried_or_the_limit_is_raised(env: dict) -> None:
    tasks = with_hang(env, "sleep", 4.0)
    cfg = ExecutorConfig(backend="processes", workers=2, progress=False, task_timeout_s=TIMEOUT_S)
    assert run(env, cfg, fn=slow_fn, tasks=tasks)[3]["status"] == "timeout"
    assert run(env, cfg, fn=slow_fn, tasks=tasks)[3]["status"] == "timeout"
    assert calls(env["marks"])["v99"] == 1  # served from the cache
    retry = ExecutorConfig(
        backend="processes", workers=2, progress=False, task_timeout_s=TIMEOUT_S, retry_failed=True
    )
    assert run(env, retry, fn=slow_fn, tasks=tasks)[3]["status"] == "timeout"
    assert calls(env["marks"])["v99"] == 2
    raised = ExecutorConfig(backend="processes", workers=2, progress=False, task_timeout_s=60)
    rows = run(env, raised, fn=slow_fn, tasks=tasks)
    assert rows[3]["status"] == "ok" and calls(env["marks"])["v99"] == 3
    assert calls(env["marks"])["v00"] == 1  # the fast tasks ran once in all


@pytest.mark.slow
def test_dask_backend_stops_a_task_past_task_timeout_s(env: dict, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    cfg = ExecutorConfig(backend="dask", workers=2, progress=False, task_timeout_s=TIMEOUT_S)
    t0 = time.monotonic()
    tasks = with_hang(env, "spin", 300, tmp_path / "out" / "v.bin")
    rows = run(env, cfg, fn=slow_fn, tasks=tasks)
    wall = time.monotonic() - t0
    assert rows[3]["key"] == "v99" and rows[3]["status"] == "timeout"
    assert "executor.task_timeout_s=1.5 s" in rows[3]["error"]
    assert rows[:3] + rows[4:] == run(env, cache_dir=tmp_path / "ref")
    assert list((tmp_path / "out").iterdir()) == []
    assert wall < 60, f"the stage took {wall:.1f} s"  # measured ≈ 8 s; the slow task wants 300 s


def test_serial_backend_says_it_does_not_enforce_task_timeout_s(
    env: dict, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = ExecutorConfig(progress=False, task_timeout_s=0.1)
    rows = run(env, cfg, fn=slow_fn, tasks=with_hang(env, "sleep", 0.3))
    assert rows[3]["status"] == "ok"  # ran to the end, in this thread
    assert caplog.text.count("executor.task_timeout_s=0.1 is not enforced by") == 1


def test_outputs_are_reused_only_while_they_match_their_recorded_hash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out, marks = tmp_path / "out", tmp_path / "marks"
    tasks = [
        Task(t.key, t.path, {}, output=str(out / f"{t.key}.bin"))
        for t in make_inputs(tmp_path / "in", 5)
    ]
    params = {"marker_dir": str(marks), "scale": 1}

    def go() -> list[dict]:
        return run_tasks(
            write_fn, tasks, stage="w", params=params, cache_dir=tmp_path / "c", config=SERIAL
        )

    first = go()
    assert [r["status"] for r in first] == ["ok"] * 5
    good = {t.key: Path(t.output).read_bytes() for t in tasks}
    paths = [Path(t.output) for t in tasks]
    paths[0].write_bytes(good["v00"][: len(good["v00"]) // 2])  # truncated
    flipped = bytearray(good["v01"])
    flipped[len(flipped) // 2] ^= 0xFF  # same size, one byte changed
    paths[1].write_bytes(flipped)
    paths[2].unlink()
    caplog.set_level(logging.INFO, logger="aura.executor")
    assert go() == first
    assert calls(marks) == Counter({"v00": 2, "v01": 2, "v02": 2, "v03": 1, "v04": 1})
    assert {t.key: Path(t.output).read_bytes() for t in tasks} == good
    assert "3 cached outputs are missing or changed" in caplog.text
    for why in ("v00.bin: size", "v01.bin: content hash differs", "v02.bin: the file is missing"):
        assert why in caplog.text
    assert "tasks=5 cached=2 computed=3" in caplog.text
    assert go() == first and sum(calls(marks).values()) == 8  # all reused now


def test_an_ok_result_without_its_output_file_is_a_failure(tmp_path: Path) -> None:
    (src,) = make_inputs(tmp_path / "in", 1)
    task = Task(src.key, src.path, {"lie": True}, output=str(tmp_path / "out" / "v00.bin"))
    params = {"marker_dir": str(tmp_path / "marks"), "scale": 1}
    (row,) = run_tasks(
        write_fn, [task], stage="w", params=params, cache_dir=tmp_path / "c", config=SERIAL
    )
    assert row["status"] == "failed" and row["error"].startswith("OutputMissing: ")
    assert task.output in row["error"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"backend": "foo"}, "executor.backend must be one of 'serial', 'processes' or 'dask'"),
        ({"workers": 0}, "executor.workers must be >= 1, got 0"),
        ({"workers": "many"}, "executor.workers must be an integer, got 'many'"),
        ({"progress": "maybe"}, "executor.progress must be true or false, got 'maybe'"),
        ({"retry_failed": 1.5}, "executor.retry_failed must be true or false, got 1.5"),
        ({"scheduler_address": ""}, "executor.scheduler_address must be a scheduler address"),
        ({"backend": "dask", "threads": 2}, "executor.threads: unknown key"),
        ({"backnd": "dask"}, "executor.backnd: unknown key; did you mean executor.backend?"),
        ({"task_timeout_s": 0}, "executor.task_timeout_s must be > 0"),
        ({"task_timeout_s": "soon"}, "executor.task_timeout_s must be a number, got 'soon'"),
        ({"task_timeout_s": True}, "executor.task_timeout_s must be a number, not true"),
        ({"task_timeout_s": float("inf")}, "executor.task_timeout_s must be a finite number"),
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
    assert ExecutorConfig.from_params({"task_timeout_s": "2.5"}).task_timeout_s == 2.5
    assert ExecutorConfig.from_params({"task_timeout_s": "null"}).task_timeout_s is None
    assert ExecutorConfig.from_params({"task_timeout_s": 600}).task_timeout_s == 600
    assert ExecutorConfig().n_workers >= 1


def test_bad_calls_raise(env: dict) -> None:
    with pytest.raises(ValueError, match="duplicate task key 'v00'"):
        run(env, tasks=[env["tasks"][0], env["tasks"][0]])
    with pytest.raises(ValueError, match="stage='../x'"):
        run(env, stage="../x")
    with pytest.raises(TypeError, match="top-level"):
        run(env, ExecutorConfig(backend="processes", progress=False), fn=lambda t, p: {})
