"""A dask-jobqueue SLURMCluster for ``kedro run --runner=aura.runners.DaskRunner``.

Each SLURM job is one Dask worker with one GPU, declared as the resource ``GPU=1`` (deep training
nodes ask for it on CUDA); one thread per worker, as each grid cell uses the whole device.
Run it on a login node and keep it alive while kedro runs::

    python conf/slurm/cluster.py --jobs 8 --partition gpu
"""

from __future__ import annotations

import argparse
import time

from dask_jobqueue import SLURMCluster  # pip install -e ".[slurm]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="worker jobs (one GPU each)")
    parser.add_argument("--partition", default="gpu")
    parser.add_argument("--account", default=None)
    parser.add_argument("--walltime", default="12:00:00")
    args = parser.parse_args()
    cluster = SLURMCluster(
        queue=args.partition,
        account=args.account,
        cores=8,  # DataLoader workers and video decoding of one cell
        processes=1,
        memory="64GB",
        walltime=args.walltime,
        job_extra_directives=["--gres=gpu:1"],
        worker_extra_args=["--resources", "GPU=1", "--nthreads", "1", "--no-nanny"],
        scheduler_options={"port": 8786},
    )
    cluster.scale(jobs=args.jobs)
    print(cluster.scheduler_address, flush=True)
    while True:  # the cluster lives as long as this process
        time.sleep(3600)


if __name__ == "__main__":
    main()
