"""Peak memory of one video through every per-video stage, at the pixel cap and above it.

Each stage runs in a fresh subprocess that reports its peak resident set (interpreter,
libraries and the video's work). Read as ``VmHWM``, the high-water mark of the process's own
memory: ``ru_maxrss`` also takes in the parent's peak when the child is spawned with vfork,
which made pytest's own peak show up as the stage's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aura.video.limits import MAX_PIXELS, VIDEO_RSS_BOUND_MB

_STAGE = """
import json, sys
stage, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
from aura.executor import Task
if stage == "sample":
    from aura.video import sample_frames
    run = lambda: sample_frames(src, 16).frames.shape[0]
elif stage == "features":
    from aura.pipelines.features.nodes import features_one
    run = lambda: len(features_one(Task("v", src, {}), {"num_frames": 16})["features"])
elif stage == "augment":
    from aura.augment import AugmentConfig
    from aura.pipelines.augmentation.nodes import augment_one
    params = AugmentConfig.from_params({"k": 1, "max_side": 480}).to_params()
    args = {"source_video_id": "v", "variant": 1, "output": out + "/a.mp4"}
    run = lambda: augment_one(Task("v__v1", src, args), params)["n_frames"]
elif stage == "augment_reverse":  # a plan read backwards: frames come in chunks
    from aura.augment import OpSpec, VariantSpec, render_variant
    spec = VariantSpec("v", 1, 5, (OpSpec("reverse", "temporal", {}),))
    run = lambda: render_variant(src, out + "/r.mp4", spec, max_side=480)["n_frames_out"]
elif stage == "scale":
    from aura.pipelines.scaling.nodes import scale_one
    params = {"method": "letterbox", "target_size": 112, "crf": 18}
    run = lambda: scale_one(Task("v", src, {"output": out + "/s.mp4"}), params)["n_frames"]
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

base = peak()
try:
    result = run()
except Exception as e:
    result = f"{type(e).__name__}: {e}"
print(json.dumps({"base_mb": base, "peak_mb": peak(), "result": result}))
"""
STAGES = ("sample", "features", "augment", "augment_reverse", "scale")


def _measure(stage: str, path: Path, out: Path) -> dict:
    # ~1-10 s each measured (importing torch for augmentation dominates); 3x and more.
    run = subprocess.run(
        [sys.executable, "-c", _STAGE, stage, str(path), str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_peak_memory_at_the_cap_is_within_the_bound(
    stage: str, cap_clip: Path, tmp_path: Path
) -> None:
    m = _measure(stage, cap_clip, tmp_path)
    assert not isinstance(m["result"], str), m["result"]
    assert m["peak_mb"] - m["base_mb"] <= VIDEO_RSS_BOUND_MB, m


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_8192_square_clip_is_refused_with_almost_no_memory(
    stage: str, huge_clip: Path, tmp_path: Path
) -> None:
    """Before the cap it took 3.8 GB to sample and 6.1 GB in features."""
    m = _measure(stage, huge_clip, tmp_path)
    assert "too_large" in str(m["result"]) and str(MAX_PIXELS) in str(m["result"])
    assert m["peak_mb"] - m["base_mb"] < 64, m  # ~26 MB measured: nothing decoded at full size
