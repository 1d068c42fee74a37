"""Expert training and collection survive a real SIGKILL and resume exactly."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO
from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import policy_table

EXPERT_FLAGS = ["--env=hopper", "--seeds=1", "--total_steps=4000", "--checkpoint_every=400",
                "--num_envs=2", "--rollout_len=200"]
STEPS = list(range(400, 4001, 400))


def _start(module, *args):
  return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_when(proc, ready, timeout=240):
  deadline = time.time() + timeout
  while not ready():
    assert proc.poll() is None, f"finished before the kill: {proc.stderr.read()[-2000:]}"
    assert time.time() < deadline, "timed out waiting to kill"
    time.sleep(0.05)
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait()


def _finish(module, *args):
  proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]


def _steps(ckpt_dir):
  return sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit()) \
      if ckpt_dir.exists() else []


@pytest.fixture(scope="module")
def killed_zoo(tmp_path_factory):
  """A zoo whose training was SIGKILLed after two checkpoints, then resumed."""
  zoo = tmp_path_factory.mktemp("zoo")
  ckpts = zoo / "hopper" / "seed_0" / "checkpoints"
  _kill_when(_start("experiments.pybullet_experts", f"--workdir={zoo}", *EXPERT_FLAGS),
             lambda: len(_steps(ckpts)) >= 2)
  before = {s: (ckpts / str(s)).stat().st_mtime_ns for s in _steps(ckpts)}
  _finish("experiments.pybullet_experts", f"--workdir={zoo}", *EXPERT_FLAGS)
  return zoo, before


def test_expert_training_resumes_after_kill(killed_zoo):
  zoo, before = killed_zoo
  ckpts = zoo / "hopper" / "seed_0" / "checkpoints"
  assert 2 <= len(before) < len(STEPS)
  assert _steps(ckpts) == STEPS
  # Finished checkpoints were not redone.
  for s, mtime in before.items():
    assert (ckpts / str(s)).stat().st_mtime_ns == mtime
  assert not [p for p in ckpts.iterdir() if not p.name.isdigit()], list(ckpts.iterdir())
  logged = [json.loads(l)["env_steps"]
            for l in (zoo / "hopper" / "seed_0" / "metrics.jsonl").read_text().splitlines()]
  assert logged == STEPS  # one line per update: none missing, none duplicated


def test_collection_resumes_after_kill(killed_zoo, tmp_path):
  zoo, _ = killed_zoo
  out = tmp_path / "episodes"
  # A leftover half-written shard from an earlier crash must never be read as whole.
  stale = out / "shards" / "hopper" / "seed_0" / "800.tfrecord.tmp"
  stale.parent.mkdir(parents=True)
  stale.write_bytes(b"half a record")
  args = [f"--zoo={zoo}", f"--out={out}", "--episodes_per_policy=2"]
  rows = lambda: list((out / "shards" / "hopper" / "seed_0").glob("*.json"))
  _kill_when(_start("experiments.pybullet_collect", *args), lambda: len(rows()) >= 2)
  before = {p.name: p.stat().st_mtime_ns for p in rows()}
  _finish("experiments.pybullet_collect", *args)

  table = policy_table.read_policy_table(out)
  assert [r.checkpoint_step for r in table] == STEPS
  for r in table:
    eps = list(ep_lib.read_shard(out / r.shard))
    assert [e.index for e in eps] == [0, 1]
    assert {e.policy_id for e in eps} == {r.policy_id}
    assert r.num_episodes == 2 and r.num_steps == sum(e.length for e in eps)
  for p in rows():
    if p.name in before:
      assert p.stat().st_mtime_ns == before[p.name]
