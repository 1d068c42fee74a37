"""Multi-host runs on JAX's own multi-controller runtime (`jax.distributed`).

Every process runs the same program on its own devices; `initialize` joins
them into one runtime before anything touches a device, after which
`jax.devices()` lists every process's devices and a jitted call over a global
`Mesh` is one SPMD program run by all of them together. Each process feeds
its local part of every batch (`global_batch`); orbax writes checkpoints
collectively; only the primary process (index 0) writes logs and results.

Where the settings come from:

1. explicit arguments (the launch scripts' `--coordinator_address`,
   `--num_processes`, `--process_id` flags), else
2. the environment: `JAX_COORDINATOR_ADDRESS` (host:port of process 0, also
   read by JAX itself), `JAX_NUM_PROCESSES` and `JAX_PROCESS_ID` (read here);
   all three are needed, unless
3. `auto=True` (the `--distributed` flag) or a SLURM step of several tasks
   (`SLURM_STEP_NUM_TASKS` > 1, e.g. under `srun`) lets JAX's own cluster
   detection fill in what is missing: SLURM's `SLURM_JOB_ID`,
   `SLURM_STEP_NODELIST`, `SLURM_NTASKS`, `SLURM_PROCID`, `SLURM_LOCALID`; a
   Cloud TPU pod's metadata server (or `TPU_WORKER_HOSTNAMES`,
   `TPU_WORKER_ID`); Open MPI's `OMPI_MCA_orte_hnp_uri`,
   `OMPI_COMM_WORLD_SIZE`, `OMPI_COMM_WORLD_RANK`.

With none of these the run is a single process and nothing is initialised. On CPU the
processes exchange data over gloo (JAX's default CPU collectives).

A process that dies stops the others: the coordination service notices its
missing heartbeats within `heartbeat_timeout_s` and every other process exits
with JAX's message "Terminating process because the JAX distributed service
detected fatal errors ... another task died". Restarting all of them with the
same command resumes from the last checkpoint.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding

from offline_scaling.errors import OfflineScalingError

ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, auto: bool = False,
               heartbeat_timeout_s: int = 100) -> bool:
  """Joins `jax.distributed` when this is one process of several (see the module
  docstring for where the settings come from). Call it before any JAX work.

  Args:
    coordinator_address: host:port of process 0's coordinator.
    num_processes: the run's process count.
    process_id: this process's index in [0, num_processes).
    auto: let JAX detect the cluster (TPU pod, SLURM, Open MPI).
    heartbeat_timeout_s: seconds without a heartbeat after which a process
      counts as dead and the others stop.

  Returns:
    Whether the runtime was initialised (False: a single-process run).
  """
  if jax.distributed.is_initialized():
    return True
  address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
  count = num_processes if num_processes is not None else _env_int(ENV_NUM_PROCESSES)
  index = process_id if process_id is not None else _env_int(ENV_PROCESS_ID)
  given = (address, count, index)
  cluster = auto or (_env_int("SLURM_STEP_NUM_TASKS") or 1) > 1   # JAX detects the rest
  if not cluster and all(v is None for v in given):
    return False
  if not cluster and any(v is None for v in given):
    raise OfflineScalingError(
        "--coordinator_address, --num_processes and --process_id go together (or "
        f"JAX_COORDINATOR_ADDRESS, {ENV_NUM_PROCESSES}, {ENV_PROCESS_ID}); got "
        f"address={address!r}, num_processes={count!r}, process_id={index!r}")
  if count is not None and index is not None and not 0 <= index < count:
    raise OfflineScalingError(f"--process_id={index} must lie in [0, --num_processes={count})")
  jax.distributed.initialize(address, count, index, heartbeat_timeout_seconds=heartbeat_timeout_s)
  return True


def _env_int(name: str) -> int | None:
  value = os.environ.get(name)
  if value is None:
    return None
  try:
    return int(value)
  except ValueError:
    raise OfflineScalingError(f"environment variable {name}={value!r} must be an integer") \
        from None


def is_primary() -> bool:
  """Whether this is process 0, the one that writes logs, metrics and results."""
  return jax.process_index() == 0


def host() -> tuple[int, int]:
  """(index, count) of this process: the `host` argument of the data streams."""
  return jax.process_index(), jax.process_count()


def global_mesh(devices=None) -> Mesh:
  """A 1-d mesh with axis `data` over `devices` (default: every process's).

  Devices are ordered by process, so each process's devices hold one
  contiguous slice of the batch axis: its local part of the global batch.
  """
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(sorted(devices, key=lambda d: (d.process_index, d.id))), ("data",))


def global_batch(sharding: NamedSharding, local: dict, global_shape: tuple[int, ...]) -> dict:
  """The global arrays of a batch from this process's part of it.

  Args:
    sharding: how the global arrays are laid out (batch axis over `data`).
    local: field -> this process's part, its batch axis `1 / process_count`
      of the global one.
    global_shape: the global (leading) shape shared by every field, e.g.
      (K, B); each field keeps its own trailing dimensions.
  """
  return {k: jax.make_array_from_process_local_data(
      sharding, v, global_shape + v.shape[len(global_shape):]) for k, v in local.items()}


def any_process(flag: bool) -> bool:
  """Whether `flag` holds on any process (all processes must call it together)."""
  if jax.process_count() == 1:
    return flag
  return bool(np.any(multihost_utils.process_allgather(np.asarray(flag))))
