"""Cost of preparing one video for inference (:func:`aura.inference.prepare.prepare_video`).

    python bench/prepare.py [--seconds 10] [--width 1280] [--height 720] [--repeat 2]

Prints, side by side in one run, the wall time of ``prepare_video`` on one camera-like clip
(default 10 s, 1280x720, 30 fps) with the default config's features and one 8x112 clip spec,
without segments and with segments (2 s windows, at most 32), and each step's share.
The best of ``--repeat`` runs is kept.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from features import make_clip  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    from aura.inference.inputs import ClipSpec
    from aura.inference.prepare import input_spec_from_config, prepare_video
    from aura.parameters import resolve

    # Schema defaults (what conf/base leaves to them); the paths are required but unused here.
    config = resolve(
        {
            "corpus": {"kind": "demo", "root": "unused"},
            "augmentation": {"output_dir": "unused"},
            "scaling": {"output_dir": "unused"},
        }
    )
    clips = (ClipSpec(8, None),)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        src = make_clip(d / "clip.mp4", args.width, args.height, seconds=args.seconds)
        print(f"clip: {args.seconds:g} s, {args.width}x{args.height}, 30 fps")
        for label, seg_s in (("no segments", 0.0), ("segments", 2.0)):
            spec = input_spec_from_config(config, clips, features=True, segment_s=seg_s)
            best = None
            for r in range(args.repeat):
                out = prepare_video(src, spec, d / f"work{r}")
                total = sum(out.timings.values())
                if best is None or total < best[0]:
                    best = (total, out)
            total, out = best
            steps = ", ".join(f"{k} {v:.2f}s ({v / total:.0%})" for k, v in out.timings.items())
            print(f"{label:>12}: {total:.2f} s, {len(out.segments)} segments; {steps}")


if __name__ == "__main__":
    main()
