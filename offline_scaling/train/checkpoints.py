"""Orbax checkpoints: a state pytree plus a JSON metadata record per step.

Orbax writes each step to a temporary directory and renames it when complete,
so a step killed mid-write is never listed; `latest_step` only sees whole ones.
`restore_latest` goes further for resumes: it reports such leftovers, and a
listed step that cannot be read (a file system without atomic renames, a
damaged disk) is reported, deleted and the previous one used.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from offline_scaling.errors import OfflineScalingError

TMP_MARK = ".orbax-checkpoint-tmp"   # orbax's suffix of a step still being written


def manager(directory: str | epath.Path, max_to_keep: int | None = None
            ) -> ocp.CheckpointManager:
  """A synchronous manager over `directory` (created when missing).

  Args:
    max_to_keep: None keeps every step (an expert zoo); 1 keeps only the
      latest (resume-only checkpoints).
  """
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                         enable_async_checkpointing=False)
  return ocp.CheckpointManager(epath.Path(directory).resolve(), options=options,
                               item_names=("state", "meta"))


def save(mgr: ocp.CheckpointManager, step: int, state: Any, meta: dict) -> None:
  """Writes `state` (any pytree of arrays) and `meta` (JSON-able) at `step`."""
  mgr.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                         meta=ocp.args.JsonSave(meta)))


def restore(mgr: ocp.CheckpointManager, step: int, like: Any) -> tuple[Any, dict]:
  """(state, meta) at `step`.

  Args:
    like: a pytree with the state's structure whose arrays' shardings say
      where the restored ones go, on any devices and processes (a checkpoint
      written by N processes restores on M). None: the saved structure, on
      the saved devices where they exist, else on this process's first device.
  """
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
  fallback = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  out = mgr.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract, fallback_sharding=fallback),
      meta=ocp.args.JsonRestore()))
  return out.state, dict(out.meta)


def read_meta(mgr: ocp.CheckpointManager, step: int) -> dict:
  """Only the metadata record at `step`."""
  return dict(mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta)


def restore_latest(mgr: ocp.CheckpointManager, like: Any,
                   log: Callable[[str], None] = logging.warning
                   ) -> tuple[int, Any, dict] | None:
  """(step, state, meta) of the latest step that restores whole; None when there is none.

  A step that was being written when the process died, or that fails to
  restore, is named through `log` and the previous step is tried.

  Raises:
    OfflineScalingError: when steps exist but none of them can be read.
  """
  root = epath.Path(mgr.directory)
  partials = sorted(p.name for p in root.iterdir() if TMP_MARK in p.name)
  for partial in partials:
    log(f"checkpoint '{root / partial}' was being written when the run stopped; "
        "it is incomplete and is removed")
    if jax.process_index() == 0:   # one host removes what all hosts share
      (root / partial).rmtree()
  steps = sorted(mgr.all_steps(), reverse=True)
  unreadable = []
  for step in steps:
    try:
      state, meta = restore(mgr, step, like)
    except (ValueError, OSError, KeyError) as e:
      log(f"checkpoint step {step} in '{root}' cannot be read "
          f"({str(e).splitlines()[0][:200]}); trying the previous one")
      unreadable.append(step)
      continue
    # Deleted only once an older step restored, so that a run about to
    # overwrite them never loses the last copy of anything readable.
    for bad in unreadable:
      mgr.delete(bad)
    if unreadable or partials:
      log(f"resuming from checkpoint step {step} in '{root}'")
    return step, state, meta
  if steps:
    raise OfflineScalingError(f"no checkpoint in '{root}' can be read (steps {sorted(steps)})")
  if partials:
    log(f"no whole checkpoint in '{root}': starting from the beginning")
  return None
