"""Training killed (SIGKILL) at a random moment and restarted with the same command
ends bit-identical to an uninterrupted run, with every metrics step logged once.

RCI on PyBullet shards and CQL on the locally generated Atari data (real ALE
games), through their launch scripts. BC is covered by
`tests/test_loop.py::test_killed_run_resumes_bit_identically`; expert training
and collection by `tests/test_resume.py`.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO
from synthetic import make_source
from test_loop import _final_params

LOOP = ["--config.train.updates_per_call=10", "--config.train.log_every=10",
        "--config.train.checkpoint_every=20", "--eval_episodes=1", "--seeds=2"]


def _command(module, args, workdir):
  return [sys.executable, "-m", module, *args, f"--workdir={workdir}"]


def _run(module, args, workdir):
  proc = subprocess.run(_command(module, args, workdir), cwd=REPO, capture_output=True,
                        text=True, timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]


def _kill_at_random(module, args, workdir, steps, log_every=10):
  """Starts the run, SIGKILLs it after a random number of logged steps plus a
  random delay (so anywhere in an update, a log or a checkpoint write); returns
  the step count logged at the kill."""
  rng = np.random.default_rng()
  wait_for = int(rng.integers(1, steps // log_every - 1))
  delay = float(rng.uniform(0, 0.3))
  with open(workdir.parent / "killed.log", "w") as log:
    proc = subprocess.Popen(_command(module, args, workdir), cwd=REPO, stdout=log, stderr=log)
  deadline = time.time() + 600
  logged = lambda: sum(len(p.read_text().splitlines()) for p in workdir.glob("*/metrics.jsonl"))
  while logged() < wait_for:
    assert proc.poll() is None, (workdir.parent / "killed.log").read_text()[-3000:]
    assert time.time() < deadline, "timed out waiting to kill"
    time.sleep(0.01)
  time.sleep(delay)
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait()
  return f"killed after {wait_for} logged steps + {delay:.2f} s"


def _assert_resumed_exactly(tmp_path, module, args, steps, log_every=10):
  _run(module, args, tmp_path / "reference")
  when = _kill_at_random(module, args, tmp_path / "killed", steps, log_every)
  assert not list((tmp_path / "killed").glob("*/result.json")), when
  _run(module, args, tmp_path / "killed")

  ref_dir, reference = _final_params(tmp_path / "reference")
  run_dir, params = _final_params(tmp_path / "killed")
  assert run_dir.name == ref_dir.name
  assert len(params) == len(reference) > 0
  for a, b in zip(reference, params):
    np.testing.assert_array_equal(a, b, err_msg=when)
  logged = [json.loads(l)["step"] for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
  assert logged == list(range(log_every, steps + 1, log_every)), when
  result = json.loads((run_dir / "result.json").read_text())
  assert result["steps"] == steps, when


@pytest.mark.slow
def test_rci_on_pybullet_shards(tmp_path):
  make_source(tmp_path / "data", obs_dim=15, num_policies=4, episodes_per_policy=4, max_len=60)
  args = [f"--data={tmp_path / 'data'}", "--steps=200", "--batch_size=32", "--param_count=5000",
          "--conditioners=0.5,1", "--config.stream.shuffle_block=200", *LOOP]
  _assert_resumed_exactly(tmp_path, "experiments.pybullet_rci", args, steps=200)


@pytest.mark.slow
def test_cql_on_local_atari_data(tmp_path):
  args = [f"--data_dir={tmp_path / 'data'}", "--steps=80", "--batch_size=8", "--num_episodes=3",
          "--config.torso=nature", "--config.local.checkpoints=3", "--config.local.runs=1",
          "--config.local.steps_per_checkpoint=200", "--config.stream.shuffle_block=256", *LOOP]
  _assert_resumed_exactly(tmp_path, "experiments.atari_cql", args, steps=80)
