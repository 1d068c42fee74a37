"""The training loop: multi-device equivalence and exact resume after a real kill."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from conftest import REPO
from offline_scaling.agents import imitation
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import checkpoints, loop
from memory_stream import MemoryStream
from synthetic import make_source


def _worker(out, devices):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, os.path.join(REPO, "tests", "loop_worker.py"),
                         str(out), str(devices)], env=env, capture_output=True, text=True,
                        timeout=300, cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return [v for _, v in sorted(np.load(out).items(), key=lambda kv: int(kv[0][4:]))]


def test_eight_devices_match_one(tmp_path):
  one = _worker(tmp_path / "one.npz", 1)
  eight = _worker(tmp_path / "eight.npz", 8)
  assert len(one) == len(eight) > 0
  for a, b in zip(one, eight):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


ARGS = ["--steps=400", "--seeds=2", "--batch_size=32", "--param_count=5000",
        "--eval_episodes=1", "--config.train.updates_per_call=10",
        "--config.train.log_every=10", "--config.train.checkpoint_every=50",
        "--config.stream.shuffle_block=200"]


def _final_params(run_root):
  (run_dir,) = [p for p in run_root.iterdir() if p.is_dir()]
  mgr = checkpoints.manager(run_dir / "checkpoints")
  state, _ = checkpoints.restore(mgr, mgr.latest_step(), None)
  mgr.close()
  return run_dir, jax.tree.leaves(state["params"])


def test_killed_run_resumes_bit_identically(tmp_path):
  make_source(tmp_path / "data", obs_dim=15, num_policies=4, episodes_per_policy=4, max_len=60)
  common = ["-m", "experiments.pybullet_bc", f"--data={tmp_path / 'data'}", *ARGS]
  ref = subprocess.run([sys.executable, *common, f"--workdir={tmp_path / 'ref'}"], cwd=REPO,
                       capture_output=True, text=True, timeout=600)
  assert ref.returncode == 0, ref.stderr[-3000:]

  killed = tmp_path / "killed"
  proc = subprocess.Popen([sys.executable, *common, f"--workdir={killed}"], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while not list(killed.glob("*/checkpoints/100")):
    assert proc.poll() is None and time.time() < deadline
    time.sleep(0.02)
  time.sleep(np.random.default_rng().uniform(0, 0.5))  # a random moment after
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  resumed = subprocess.run([sys.executable, *common, f"--workdir={killed}"], cwd=REPO,
                           capture_output=True, text=True, timeout=600)
  assert resumed.returncode == 0, resumed.stderr[-3000:]

  ref_dir, ref_params = _final_params(tmp_path / "ref")
  run_dir, params = _final_params(killed)
  assert ref_dir.name == run_dir.name  # same config, same run id
  for a, b in zip(ref_params, params):
    np.testing.assert_array_equal(a, b)
  steps = [json.loads(l)["step"] for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
  assert steps == list(range(10, 401, 10))
  result = json.loads((run_dir / "result.json").read_text())
  assert result["steps"] == 400 and result["samples_seen"] == 400 * 32


def test_update_takes_a_device_batch_as_it_lies(tmp_path):
  """`update` trains on `device_batch(b)` (already [K, S, B, ...] on the devices) as on `b`,
  each seed on its own rows of b."""
  config = loop.default_config()
  config.update(steps=3, batch_size=8, num_seeds=2, updates_per_call=3, log_every=3,
                checkpoint_every=3)
  agent_config = imitation.default_config()
  agent_config.param_count = 1_000
  trainer = loop.Trainer(imitation.make_agent(4, 2, agent_config), config, tmp_path)
  rng = np.random.default_rng(0)
  batch = dict(obs=rng.normal(size=(2, 24, 4)).astype(np.float32),
               action=rng.integers(0, 2, (2, 24)).astype(np.int32))
  on_device = trainer.device_batch(batch)
  assert on_device["obs"].shape == (3, 2, 8, 4) and on_device["action"].shape == (3, 2, 8)
  # update k of seed s reads rows k·B … (k + 1)·B − 1 of seed s's K × B
  np.testing.assert_array_equal(on_device["obs"][1, 1], batch["obs"][1, 8:16])
  from_host, _ = trainer.update(trainer.init_state(), batch)
  from_device, _ = trainer.update(trainer.init_state(), on_device)
  for a, b in zip(jax.tree.leaves(from_host.params), jax.tree.leaves(from_device.params)):
    np.testing.assert_array_equal(a, b)


INIT_MANY = """
import jax
from offline_scaling.agents import imitation
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import loop, pybullet_imitation
c = pybullet_imitation.default_config()
c.agent.param_count = 60_000
c.train.num_seeds = 3
trainer = loop.Trainer(imitation.make_agent(15, 8, c.agent, 0.0, 1.0), c.train, {run_dir!r})
for _ in range(3_000):
  jax.block_until_ready(trainer.init_state())
print("done")
"""


def test_initialising_many_seeds_never_hangs(tmp_path):
  """Seeds' orthogonal inits as one batched QR deadlocked XLA:CPU about once in
  1,000 calls on 2 cores; 3,000 inits of 3 seeds must finish."""
  proc = subprocess.run([sys.executable, "-c", INIT_MANY.format(run_dir=str(tmp_path))],
                        cwd=REPO, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr[-2000:]


def _stream(n, seeds, per_call, obs_dim=4):
  """A one-pass stream of `n` batches of [S, K × B] transitions, then none."""
  rng = np.random.default_rng(0)
  return MemoryStream([dict(obs=rng.normal(size=(seeds, per_call, obs_dim)).astype(np.float32),
                            action=rng.integers(0, 2, (seeds, per_call)).astype(np.int32))
                       for _ in range(n)])


def _small_trainer(run_dir, evals):
  config = loop.default_config()
  config.update(steps=40, batch_size=8, num_seeds=2, updates_per_call=2, log_every=2,
                checkpoint_every=10, eval_every=10)
  agent_config = imitation.default_config()
  agent_config.param_count = 1_000

  def evaluate(params, step):
    evals.append(step)
    return dict(return_mean=float(step))

  return loop.Trainer(imitation.make_agent(4, 2, agent_config), config, run_dir,
                      evaluate=evaluate)


def test_a_stream_that_ends_between_evaluations_is_evaluated_and_kept_at_its_end(tmp_path):
  evals = []
  _, summary = _small_trainer(tmp_path, evals).train(_stream(7, 2, 16), progress=False)
  assert summary["data_exhausted"] and summary["steps"] == 14
  assert evals == [10, 14] and summary["eval"] == dict(return_mean=14.0)
  mgr = checkpoints.manager(tmp_path / "checkpoints")
  assert mgr.latest_step() == 14
  mgr.close()
  # Resumed at its end, the run neither trains nor plays again: its logged evaluation stands.
  again = []
  _, summary = _small_trainer(tmp_path, again).train(_stream(7, 2, 16), progress=False)
  assert again == [] and summary["eval"] == dict(return_mean=14.0) and summary["steps"] == 14
  steps = [json.loads(l)["step"] for l in (tmp_path / "evals.jsonl").read_text().splitlines()]
  assert steps == [10, 14]


def test_a_run_resumed_after_its_last_checkpoint_reports_its_final_evaluation(tmp_path):
  """Killed between its last checkpoint and its result, a run resumes at its end:
  it returns the evaluation it logged (CI at stop 24 saw `eval_return` None)."""
  evals = []
  _, done = _small_trainer(tmp_path, evals).train(_stream(30, 2, 16), progress=False)
  assert evals == [10, 20, 30, 40] and not done["data_exhausted"]
  again = []
  _, resumed = _small_trainer(tmp_path, again).train(_stream(30, 2, 16), progress=False)
  assert again == [] and resumed["eval"] == done["eval"] == dict(return_mean=40.0)
  # With the final evaluation lost too, it plays it again, once.
  (tmp_path / "evals.jsonl").write_text(
      "".join(l + "\n" for l in (tmp_path / "evals.jsonl").read_text().splitlines()[:-1]))
  _, replayed = _small_trainer(tmp_path, again).train(_stream(30, 2, 16), progress=False)
  assert again == [40] and replayed["eval"] == dict(return_mean=40.0)


def test_a_stream_too_short_for_one_call_is_refused_in_one_line(tmp_path):
  with pytest.raises(OfflineScalingError, match="ended before the first update"):
    _small_trainer(tmp_path, []).train(_stream(0, 2, 16), progress=False)
