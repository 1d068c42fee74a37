"""A checkpoint being written when the kill came is detected and the previous one used.

A finished 60-update run directory is copied and left exactly as a kill
during the save of step 60 leaves it: metrics and the stream position of step
60 written, the last metrics line possibly cut, and step 60 either still in
orbax's temporary directory (half written) or, on a file system without
atomic renames, under its final name with its array data missing. The
resumed run names the bad step, resumes from step 40 and ends with the
parameters and metrics of the uninterrupted run.
"""

import json
import logging
import re
import shutil

import pytest

from reliability.tiny_run import assert_same, train


@pytest.fixture(scope="module")
def finished(shards, tmp_path_factory):
  run = tmp_path_factory.mktemp("finished") / "run"
  params, _ = train(shards, run, steps=60)
  return run, params


def _half_written(step_dir):
  """Orbax's temporary name for the step, with the array data not yet there."""
  partial = step_dir.parent / f"{step_dir.name}.orbax-checkpoint-tmp-1764222000123456"
  step_dir.rename(partial)
  shutil.rmtree(partial / "state" / "d")
  (partial / "commit_success.txt").unlink(missing_ok=True)
  return re.escape(f"checkpoint '{partial}' was being written when the run stopped")


def _damaged(step_dir):
  shutil.rmtree(step_dir / "state" / "d")
  return "checkpoint step 60 in .* cannot be read"


@pytest.mark.parametrize("damage", [_half_written, _damaged])
def test_resume_skips_a_half_written_checkpoint(shards, finished, tmp_path, caplog, damage):
  reference_run, reference = finished
  run = tmp_path / "run"
  shutil.copytree(reference_run, run)
  message = damage(run / "checkpoints" / "60")
  with (run / "metrics.jsonl").open("a") as f:
    f.write('{"loss": 1.2, "st')   # and the kill came mid-line

  with caplog.at_level(logging.WARNING):
    params, summary = train(shards, run, steps=60)
  logged = " | ".join(r.getMessage() for r in caplog.records)
  assert re.search(message, logged), logged
  assert "resuming from checkpoint step 40" in logged
  assert summary["steps"] == 60
  assert_same(params, reference)
  assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["40", "60"]
  steps = [json.loads(l)["step"] for l in (run / "metrics.jsonl").read_text().splitlines()]
  assert steps == [10, 20, 30, 40, 50, 60]


def test_kill_before_the_first_checkpoint_leaves_no_repeated_log_lines(shards, finished, tmp_path):
  """Killed while saving its first checkpoint (step 20): the run starts over from
  update 0 and its logs hold each step once, as the uninterrupted run's do."""
  reference_run, reference = finished
  run = tmp_path / "run"
  shutil.copytree(reference_run, run)
  (run / "checkpoints" / "40").rename(run / "checkpoints" / "20")   # as step 20 ...
  shutil.rmtree(run / "checkpoints" / "60")
  _half_written(run / "checkpoints" / "20")                         # ... was being saved
  metrics = (run / "metrics.jsonl").read_text().splitlines()
  (run / "metrics.jsonl").write_text("\n".join(metrics[:2]) + "\n")   # steps 10 and 20

  params, summary = train(shards, run, steps=60)
  assert summary["steps"] == 60
  assert_same(params, reference)
  steps = [json.loads(l)["step"] for l in (run / "metrics.jsonl").read_text().splitlines()]
  assert steps == [10, 20, 30, 40, 50, 60]
