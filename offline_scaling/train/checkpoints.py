"""Orbax checkpoints: a state pytree plus a JSON metadata record per step.

Orbax writes each step to a temporary directory and renames it when complete,
so a step killed mid-write is never listed; `latest_step` only sees whole ones.
"""

from __future__ import annotations

from typing import Any

import jax
import orbax.checkpoint as ocp
from etils import epath


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
