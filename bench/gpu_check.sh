#!/usr/bin/env bash
# GPU check (issue 13, item 6): one script, <= 8 min on one CUDA GPU (the step limits sum to
# 460 s). Never run on CUDA yet: no GPU was lent while it was written. Each step runs under its
# own timeout; a summary comes at the end:
#   1. bench/train.py's CUDA row: r3d18_inception, 112 px, T=16, batch 32, bf16, Lightning against
#      a bare PyTorch loop (its CPU rows are cut to naive_cnn, 2 steps);
#   2. one demo deep cell (CELL, default r3d18_inception.fold_0) with deterministic: true on the
#      GPU: `kedro run --to-nodes=<cell>.train` (builds the demo corpus and its inputs first);
#   3. a 1-GPU DDP smoke fit (tests/training/ddp_fit.py: tiny naive_cnn on generated videos),
#      strategy ddp and ddp_spawn, bf16-mixed.
# usage: bash bench/gpu_check.sh            (PYTHON=... to pick the interpreter; CELL=model.fold_k)
# Exit status: 0 all steps passed, 1 a step failed, 2 no CUDA device (nothing run).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
CELL=${CELL:-r3d18_inception.fold_0}
export KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 DO_NOT_TRACK=1

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device visible to torch ($PY); nothing was run." >&2
    echo "gpu_check: run it on a machine with an NVIDIA GPU and a CUDA build of torch." >&2
    exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" -c "import torch, lightning; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'lightning', lightning.__version__, torch.cuda.get_device_name())"

declare -a SUMMARY=()
FAILED=0
step() {  # step NAME SECONDS COMMAND...: run with a timeout, record pass/fail and the wall time
    local name=$1 limit=$2 start rc
    shift 2
    echo; echo "=== $name (limit ${limit}s) ==="
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@"
    rc=$?
    local took=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ]; then SUMMARY+=("PASS  $name  ${took}s"); else
        FAILED=1; SUMMARY+=("FAIL  $name  ${took}s (exit $rc$([ "$rc" -eq 124 ] && echo ', timed out'))")
    fi
}

# 1. the training bench's CUDA row, Lightning against the bare loop
step "bench/train.py CUDA row" 110 "$PY" bench/train.py --models naive_cnn --steps 2 --repeat 1

# 2. one demo deep cell, deterministic, on the GPU
step "demo cell $CELL deterministic" 230 "$PY" -m kedro run --to-nodes="$CELL.train" \
    --params "training.trainer.deterministic=true,training.trainer.accelerator=gpu"

# 3. 1-GPU DDP smoke: the same fit under ddp and ddp_spawn
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PY" - "$WORK" <<'PY'
import json, sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.conftest import make_clip_items
work = Path(sys.argv[1])
items = make_clip_items(work / "videos", n=18)
for strategy in ("ddp", "ddp_spawn"):
    trainer = {"num_frames": 4, "clip_size": 32, "batch_size": 4, "max_epochs": 2,
               "lr": 3e-3, "accelerator": "gpu", "devices": 1, "strategy": strategy,
               "precision": "bf16-mixed", "deterministic": "warn"}
    args = {"items": [[i.video_id, str(i.path), i.target, i.n_frames] for i in items],
            "n_train": 12, "trainer": trainer, "checkpoint_dir": str(work / strategy / "ckpt"),
            "out": str(work / strategy / "result.json"), "pause_at": None}
    (work / strategy).mkdir(parents=True)
    (work / f"{strategy}.json").write_text(json.dumps(args))
PY
for strategy in ddp ddp_spawn; do
    step "1-GPU DDP smoke ($strategy)" 60 env PYTHONPATH=. "$PY" tests/training/ddp_fit.py \
        "$WORK/$strategy.json"
    [ -f "$WORK/$strategy/result.json" ] && cat "$WORK/$strategy/result.json" && echo
done

echo; echo "=== gpu_check summary ==="
printf '%s\n' "${SUMMARY[@]}"
exit "$FAILED"
