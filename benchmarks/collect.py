"""Expert collection speed vs raw env stepping, on this machine.

    python -m benchmarks.collect [--env=hopper --steps=20000 --repeats=5]

One round times, one after the other (so load from other processes falls on both):
  raw      env steps/s of `make_env(env)` (the bang-bang env collection plays)
           with random actions, reset when an episode ends;
  collect  env steps/s of `train.collect.collect_policy` on a real PPO expert
           (trained for `--expert_steps`), until its new shard holds
           `--steps` transitions: checkpoint load, play, shard and row writes.
A warm-up round (JIT compile of the acting function) is left out. Reports
the medians over `--repeats` rounds and the median of the per-round ratios
collect / raw (the goal: >= 0.7). Prints a table and writes `<out>/collect.json`.
"""

from __future__ import annotations

import json
import tempfile
import time

import numpy as np
from absl import app, flags
from etils import epath

from benchmarks.common import machine, quiet, raw_env_rate
from offline_scaling.agents import ppo
from offline_scaling.train import collect, experts

flags.DEFINE_string("env", "hopper", "env name")
flags.DEFINE_integer("steps", 20_000, "env steps per timed window")
flags.DEFINE_integer("repeats", 5, "timed rounds (medians reported)")
flags.DEFINE_integer("expert_steps", 2_000, "PPO env steps of the expert collected from")
flags.DEFINE_string("out", "benchmarks/out", "output directory")
F = flags.FLAGS


def collect_rate(policy: experts.ZooPolicy) -> tuple[float, int]:
  """(env steps/s, episodes) of one `collect_policy` of `--steps` transitions."""
  with tempfile.TemporaryDirectory() as out:
    t0 = time.perf_counter()
    record = collect.collect_policy(policy, epath.Path(out), 1, min_steps=F.steps)
    return record.num_steps / (time.perf_counter() - t0), record.num_episodes


def main(_):
  quiet()
  with tempfile.TemporaryDirectory() as zoo:
    experts.train_expert(F.env, 0, zoo, ppo.default_config(), F.expert_steps, F.expert_steps)
    (policy,) = experts.list_zoo(zoo, F.env)
    cold, _ = collect_rate(policy)
    runs = {"raw": [], "collect": []}
    episodes = []
    for r in range(F.repeats):
      runs["raw"].append(raw_env_rate(F.env, F.steps, r))
      rate, n = collect_rate(policy)
      runs["collect"].append(rate)
      episodes.append(n)
  med = {k: float(np.median(v)) for k, v in runs.items()}
  ratio = float(np.median(np.array(runs["collect"]) / np.array(runs["raw"])))
  result = dict(env=F.env, steps=F.steps, repeats=F.repeats, expert_steps=F.expert_steps,
                machine=machine(), date=time.strftime("%Y-%m-%d"), runs=runs, median=med,
                collect_first_round=cold, collect_episodes=episodes,
                collect_over_raw=ratio, goal=0.7)
  print(f"{'':8s} {'env steps/s (median of ' + str(F.repeats) + ')':>30s}")
  for k, v in med.items():
    print(f"{k:8s} {v:30.0f}")
  print(f"collect / raw = {ratio:.2f} (median of per-round ratios; goal >= 0.7); "
        f"first round, compile included: {cold:.0f} steps/s; "
        f"{np.median(episodes):.0f} episodes per window")
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  (out / "collect.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
