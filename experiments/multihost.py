"""Flags that make a launch script one process of a multi-host run.

    # on each of N machines (process_id 0 … N−1), the same command otherwise:
    python -m experiments.atari_cql --coordinator_address=10.0.0.1:8476 \
        --num_processes=N --process_id=I ...
    # on a TPU pod or under srun, JAX finds these itself:
    python -m experiments.atari_cql --distributed ...

Without these flags the environment decides (`JAX_COORDINATOR_ADDRESS`,
`JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`, or a SLURM step of several tasks); see
`offline_scaling.train.distributed` and docs/multihost.md.
"""

from __future__ import annotations

from absl import flags

from offline_scaling.train import distributed

flags.DEFINE_string("coordinator_address", None,
                    "multi-host: host:port of process 0's coordinator (all processes)")
flags.DEFINE_integer("num_processes", None, "multi-host: the run's process count")
flags.DEFINE_integer("process_id", None, "multi-host: this process's index, 0 … N−1")
flags.DEFINE_bool("distributed", False,
                  "multi-host: let JAX detect the cluster (TPU pod, SLURM, Open MPI)")
flags.DEFINE_integer("heartbeat_timeout", 100,
                     "multi-host: seconds without news from a process before all stop")
F = flags.FLAGS


def initialize() -> None:
  """Joins the multi-host runtime as the flags (or the environment) say; call first."""
  distributed.initialize(F.coordinator_address, F.num_processes, F.process_id,
                         auto=F.distributed, heartbeat_timeout_s=F.heartbeat_timeout)
