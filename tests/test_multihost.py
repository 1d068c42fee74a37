"""Multi-host training on localhost: two processes × two CPU devices joined by
`jax.distributed` (gloo collectives) against one process × four devices (BC;
CQL on a Nature CNN in the slow suite), and a real SIGKILL of one process of
a launch-script run, then the resume (the recipe of docs/multihost.md)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from conftest import REPO
from offline_scaling import OfflineScalingError
from offline_scaling.train import checkpoints, distributed
from synthetic import make_source


_STARTED = []


@pytest.fixture(autouse=True)
def _no_leftover_processes():
  """Kills whatever a failing test left running."""
  yield
  while _STARTED:
    p = _STARTED.pop()
    if p.poll() is None:
      p.kill()
      p.wait()


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _start(args, devices, log):
  """A process with `devices` CPU devices running `python args`, output to `log`."""
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  with open(log, "w") as out:
    _STARTED.append(subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=out,
                                     stderr=subprocess.STDOUT))
  return _STARTED[-1]


def _processes(args, log_prefix, count=2):
  """`count` processes × 2 devices of one multi-host run of `python args`."""
  flags = [f"--coordinator_address=localhost:{_free_port()}", f"--num_processes={count}"]
  return [_start([*args, *flags, f"--process_id={i}"], 2, f"{log_prefix}{i}.log")
          for i in range(count)]


def _wait(procs, logs, timeout=240):
  for p, log in zip(procs, logs):
    assert p.wait(timeout=timeout) == 0, open(log).read()[-3000:]


# BC runs in the default suite (~15 s on 2 idle cores); CQL compiles a CNN in
# three processes (~35 s), so it is marked slow.
@pytest.mark.parametrize("algo", ["bc", pytest.param("cql", marks=pytest.mark.slow)])
def test_two_processes_match_one_with_four_devices(tmp_path, algo):
  worker = [os.path.join(REPO, "tests", "loop_worker.py"), f"--algo={algo}"]
  one = _start([*worker, str(tmp_path / "one.npz"), "4"], 4, tmp_path / "one.log")
  two = _processes([*worker, str(tmp_path / "two.npz"), "2", f"--run_dir={tmp_path / 'run'}"],
                   tmp_path / "two")
  _wait([one, *two], [tmp_path / "one.log", tmp_path / "two0.log", tmp_path / "two1.log"])
  ref, got = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
  assert len(ref) == len(got) > 0
  for k in ref:
    np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)
  run, last = tmp_path / "run", {"bc": 40, "cql": 10}[algo]
  # Each process saved its own stream position; the checkpoint restores in one process.
  assert sorted(p.name for p in (run / "stream" / str(last)).glob("*.index")) == [
      "position-0-of-2.index", "position-1-of-2.index"]
  mgr = checkpoints.manager(run / "checkpoints")
  assert checkpoints.read_meta(mgr, last)["num_processes"] == 2
  state, _ = checkpoints.restore(mgr, last, None)
  mgr.close()
  restored = jax.tree.leaves(state["params"])
  assert len(restored) == len(got)
  for i, leaf in enumerate(restored):
    np.testing.assert_array_equal(leaf, got[f"arr_{i}"])
  logged = [json.loads(l)["step"] for l in (run / "metrics.jsonl").read_text().splitlines()]
  assert logged == {"bc": [20, 40], "cql": [5, 10]}[algo]   # written once, by process 0


FLAGS = ["--steps=200", "--seeds=2", "--batch_size=32", "--param_count=5000",
         "--eval_episodes=3", "--config.train.updates_per_call=10",
         "--config.train.log_every=10", "--config.train.checkpoint_every=50",
         "--config.stream.shuffle_block=200", "--heartbeat_timeout=5"]


def _final_params(run_dir):
  mgr = checkpoints.manager(run_dir / "checkpoints")
  state, _ = checkpoints.restore(mgr, mgr.latest_step(), None)
  mgr.close()
  return jax.tree.leaves(state["params"])


# The slow variant also runs the same two processes uninterrupted and asks for
# bit-identical parameters (each process's stream resumed exactly).
@pytest.mark.parametrize("compare", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_killed_process_stops_the_other_and_both_resume(tmp_path, compare):
  recipe = open(os.path.join(REPO, "docs", "multihost.md")).read().split(
      "### Two processes on one machine")[1].split("###")[0]
  assert all(f in recipe for f in FLAGS), "docs/multihost.md's localhost recipe differs"
  make_source(tmp_path / "data", obs_dim=15, num_policies=4, episodes_per_policy=4, max_len=60)
  args = ["-m", "experiments.pybullet_bc", f"--data={tmp_path / 'data'}",
          f"--workdir={tmp_path / 'runs'}", *FLAGS]
  procs = _processes(args, tmp_path / "first")
  deadline = time.time() + 240
  while not list(tmp_path.glob("runs/*/checkpoints/100")):
    assert all(p.poll() is None for p in procs) and time.time() < deadline
    time.sleep(0.02)
  procs[1].send_signal(signal.SIGKILL)
  killed_at = time.time()
  try:
    procs[0].wait(timeout=90)
  except subprocess.TimeoutExpired:
    raise AssertionError("process 0 still runs 90 s after process 1 was killed") from None
  stopped_after = time.time() - killed_at
  log = (tmp_path / "first0.log").read_text()
  # --heartbeat_timeout=5; the margin is for a loaded machine.
  assert procs[0].returncode != 0 and stopped_after < 60, (stopped_after, log[-3000:])
  assert "another task died" in log, log[-3000:]

  procs = _processes(args, tmp_path / "again")
  _wait(procs, [tmp_path / "again0.log", tmp_path / "again1.log"])
  (run,) = (tmp_path / "runs").iterdir()
  # Resumed from a checkpoint: the logs past it were cut, then written once more.
  steps = [json.loads(l)["step"] for l in (run / "metrics.jsonl").read_text().splitlines()]
  assert steps == list(range(10, 201, 10))
  result = json.loads((run / "result.json").read_text())
  assert result["steps"] == 200 and result["samples_seen"] == 200 * 32
  returns = np.asarray(result["eval"]["returns"])   # 2 seeds × 3 episodes, split 2 + 1
  assert returns.shape == (2, 3) and np.isfinite(returns).all()
  if compare:
    ref_args = [a.replace(str(tmp_path / "runs"), str(tmp_path / "ref")) for a in args]
    procs = _processes(ref_args, tmp_path / "ref")
    _wait(procs, [tmp_path / "ref0.log", tmp_path / "ref1.log"])
    (ref,) = (tmp_path / "ref").iterdir()
    assert ref.name == run.name
    for a, b in zip(_final_params(ref), _final_params(run), strict=True):
      np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs,expected", [
    (dict(coordinator_address="localhost:1234"), "go together"),
    (dict(coordinator_address="localhost:1234", num_processes=2, process_id=2),
     "--process_id=2 must lie in [0, --num_processes=2)"),
])
def test_incomplete_settings_name_the_flags(kwargs, expected):
  with pytest.raises(OfflineScalingError, match=re.escape(expected)):
    distributed.initialize(**kwargs)


def test_single_process_is_left_alone(monkeypatch):
  for name in ("JAX_COORDINATOR_ADDRESS", distributed.ENV_NUM_PROCESSES,
               distributed.ENV_PROCESS_ID, "SLURM_STEP_NUM_TASKS"):
    monkeypatch.delenv(name, raising=False)
  assert not distributed.initialize()
  assert distributed.is_primary() and distributed.host() == (0, 1)
