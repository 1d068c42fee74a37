"""PPO training speed vs raw env stepping (and vs Stable-Baselines3 PPO, if installed).

    python -m benchmarks.ppo [--env=hopper --steps=40000 --repeats=3]

Measures, in one process on this machine, medians over `repeats` runs of:
  raw    env steps/s of the vector env PPO trains on (random actions);
  ours   env steps/s of `train_expert` (wall clock, compile and checkpoint included);
  sb3    env steps/s of SB3 PPO with default settings on the same wrapped env
         (skipped when `stable_baselines3` is not importable; install it with
         `pip install torch==2.13.0 stable-baselines3`).
Prints a table and writes `<out>/ppo.json`.
"""

from __future__ import annotations

import json
import tempfile
import time

import numpy as np
from absl import app, flags
from etils import epath

from benchmarks.common import machine, quiet
from offline_scaling.agents import ppo
from offline_scaling.envs import make_env, make_vector_env
from offline_scaling.train import experts

flags.DEFINE_string("env", "hopper", "env name")
flags.DEFINE_integer("steps", 40_000, "env steps per measurement")
flags.DEFINE_integer("repeats", 3, "measurements per implementation (median reported)")
flags.DEFINE_string("out", "benchmarks/out", "output directory")
F = flags.FLAGS


def raw_rate(config) -> float:
  envs = make_vector_env(F.env, config.num_envs, seed=0)
  envs.reset(seed=0)
  n, t0 = 0, time.perf_counter()
  while n < F.steps:
    envs.step(envs.action_space.sample())
    n += config.num_envs
  rate = n / (time.perf_counter() - t0)
  envs.close()
  return rate


def ours_rate(config, seed: int) -> float:
  with tempfile.TemporaryDirectory() as zoo:
    t0 = time.perf_counter()
    experts.train_expert(F.env, seed, zoo, config, F.steps, F.steps)
    return F.steps / (time.perf_counter() - t0)


def sb3_rate(seed: int) -> float | None:
  try:
    from stable_baselines3 import PPO
  except ImportError:
    return None
  model = PPO("MlpPolicy", make_env(F.env, seed=seed), seed=seed, device="cpu")
  t0 = time.perf_counter()
  model.learn(total_timesteps=F.steps)
  return F.steps / (time.perf_counter() - t0)


def main(_):
  quiet()
  config = ppo.default_config()
  runs = {"raw": [], "ours": [], "sb3": []}
  for r in range(F.repeats):
    runs["raw"].append(raw_rate(config))
    runs["ours"].append(ours_rate(config, r))
    sb3 = sb3_rate(r)
    if sb3 is not None:
      runs["sb3"].append(sb3)
  med = {k: float(np.median(v)) for k, v in runs.items() if v}
  result = dict(env=F.env, steps=F.steps, repeats=F.repeats, num_envs=config.num_envs,
                machine=machine(),
                runs=runs, median=med,
                ours_over_raw=med["ours"] / med["raw"],
                ours_over_sb3=med["ours"] / med["sb3"] if "sb3" in med else None)
  print(f"{'':6s} {'env steps/s (median of ' + str(F.repeats) + ')':>30s}")
  for k, v in med.items():
    print(f"{k:6s} {v:30.0f}")
  print(f"ours / raw = {result['ours_over_raw']:.2f}"
        + (f"   ours / sb3 = {result['ours_over_sb3']:.2f}" if result["ours_over_sb3"] else ""))
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  (out / "ppo.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
