"""Numerical faults: a NaN/Inf in the loss or gradient stops the run, naming the
update, the loss terms and the last good checkpoint, which is intact.

Real training: one batch of the real stream poisoned with NaN observations
(updates 41-50), or a learning rate so large that the parameters overflow.
"""

import jax
import numpy as np
import pytest

from offline_scaling import OfflineScalingError
from offline_scaling.train import checkpoints
from reliability.tiny_run import assert_same, train


class PoisonedStream:
  """The real stream, with NaN observations in its `at`-th batch (1-based)."""

  def __init__(self, stream, at):
    self.stream, self.at, self.count = stream, at, 0

  def __iter__(self):
    return self

  def __next__(self):
    batch = next(self.stream)
    self.count += 1
    if self.count == self.at:
      batch = dict(batch, obs=np.full_like(batch["obs"], np.nan))
    return batch

  def save(self, prefix):
    return self.stream.save(prefix)

  def restore(self, path):
    self.stream.restore(path)


def _restore_params(run_dir, step):
  mgr = checkpoints.manager(run_dir / "checkpoints")
  state, meta = checkpoints.restore(mgr, step, None)
  mgr.close()
  return jax.tree.leaves(state["params"]), meta


@pytest.mark.parametrize("log_every", [10, 100])   # caught at a log, or before a checkpoint
def test_a_poisoned_batch_stops_the_run_and_the_named_checkpoint_is_intact(
    shards, tmp_path, log_every):
  run = tmp_path / "run"
  with pytest.raises(OfflineScalingError) as e:
    train(shards, run, steps=100, log_every=log_every,
          wrap=lambda stream: PoisonedStream(stream, at=5))
  message = str(e.value)
  stop = 50 if log_every == 10 else 60
  assert f"training diverged by update {stop}: non-finite" in message
  for term in ("loss", "nll", "accuracy", "grad_norm"):
    assert f"'{term}': [" in message
  assert f"the last good checkpoint is step 40 in '{run / 'checkpoints'}'" in message
  assert "\n" not in message

  mgr = checkpoints.manager(run / "checkpoints")
  assert mgr.all_steps() == [20, 40]   # nothing was saved after the fault
  mgr.close()
  params, meta = _restore_params(run, 40)
  assert meta["step"] == 40 and all(np.all(np.isfinite(p)) for p in params)
  clean, _ = train(shards, tmp_path / "clean", steps=40, log_every=log_every)
  assert_same(params, clean)   # bit-identical to an unpoisoned run at update 40


def test_an_overflowing_learning_rate_stops_before_any_checkpoint(shards, tmp_path):
  with pytest.raises(OfflineScalingError,
                     match=r"training diverged by update 10: non-finite .*loss.*; no checkpoint "
                           r"was written yet"):
    train(shards, tmp_path / "run", steps=40, learning_rate=1e38)
  assert not list((tmp_path / "run" / "checkpoints").iterdir())
