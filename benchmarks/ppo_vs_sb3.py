"""Learning check: our PPO vs Stable-Baselines3 PPO on a bang-bang PyBullet task.

Both train on the same wrapped env (`make_env(env)`: Discrete(2^D) bang-bang
actions) for the same number of env steps; every `eval_every` steps the
current policy is evaluated for `eval_episodes` episodes with its mode
(deterministic) action, SB3's `evaluate_policy` default. SB3 runs with its
default hyper-parameters (`PPO("MlpPolicy", env)`, one env).

    python -m benchmarks.ppo_vs_sb3 --impl=ours --seeds=3 --total_steps=1000000
    python -m benchmarks.ppo_vs_sb3 --impl=sb3 --seeds=3 --total_steps=1000000
    python -m benchmarks.ppo_vs_sb3 --impl=summary

SB3 needs `pip install torch==2.13.0 stable-baselines3` (never a dependency
of the library). Curves go to `<out>/curves_<impl>.json`; the summary prints
a table and writes `<out>/summary.json`.
"""

from __future__ import annotations

import json
import time

import numpy as np
from absl import app, flags
from etils import epath

from offline_scaling.agents import ppo
from offline_scaling.envs import make_env
from offline_scaling.train import experts, rollout

flags.DEFINE_enum("impl", "ours", ["ours", "sb3", "summary"], "which PPO to run")
flags.DEFINE_string("env", "hopper", "env name")
flags.DEFINE_integer("seeds", 3, "number of seeds (0..seeds-1)")
flags.DEFINE_integer("first_seed", 0, "run seeds first_seed..seeds-1 (to split over processes)")
flags.DEFINE_integer("total_steps", 1_000_000, "env steps per seed")
flags.DEFINE_integer("eval_every", 100_000, "env steps between evaluations")
flags.DEFINE_integer("eval_episodes", 10, "episodes per evaluation")
flags.DEFINE_string("out", "benchmarks/out/ppo_vs_sb3", "output directory")
F = flags.FLAGS


def _eval(act_fn, seed: int) -> float:
  env = make_env(F.env, seed=10_000 + seed)
  result = rollout.evaluate(env, act_fn, F.eval_episodes, seed=10_000 + seed)
  env.close()
  return result["mean"]


def run_ours(seed: int) -> dict:
  zoo = epath.Path(F.out) / "zoo"
  t0 = time.time()
  experts.train_expert(F.env, seed, zoo, ppo.default_config(), F.total_steps, F.eval_every)
  train_s = time.time() - t0
  curve = []
  for p in experts.list_zoo(zoo, F.env):
    if p.seed == seed:
      policy, _ = p.load()
      curve.append((p.env_steps, _eval(rollout.ppo_act_fn(policy, deterministic=True), seed)))
  return dict(curve=curve, train_s=train_s)


def run_sb3(seed: int) -> dict:
  from stable_baselines3 import PPO
  from stable_baselines3.common.callbacks import BaseCallback

  curve = []

  class Evaluate(BaseCallback):
    def _on_step(self) -> bool:
      if self.num_timesteps % F.eval_every == 0:
        act = lambda obs, rng: int(self.model.predict(obs, deterministic=True)[0])
        curve.append((self.num_timesteps, _eval(act, seed)))
      return True

  import torch
  torch.set_num_threads(1)  # faster for a 64×64 MLP, and fair next to our 1-process PPO
  model = PPO("MlpPolicy", make_env(F.env, seed=seed), seed=seed, device="cpu")
  t0 = time.time()
  model.learn(total_timesteps=F.total_steps, callback=Evaluate())
  return dict(curve=curve, train_s=time.time() - t0)


def load_runs(out: epath.Path, impl: str) -> dict:
  """{seed: run} from every curves file of `impl` (one per process that ran seeds)."""
  runs = {}
  for path in sorted(out.glob(f"curves_{impl}*.json")):
    runs.update(json.loads(path.read_text()))
  return runs


def summary() -> None:
  out = epath.Path(F.out)
  rows = {}
  for impl in ("ours", "sb3"):
    runs = load_runs(out, impl)
    if runs:
      finals = [r["curve"][-1][1] for r in runs.values()]
      rows[impl] = dict(final_mean=float(np.mean(finals)), final_per_seed=finals,
                        final_step=list(runs.values())[0]["curve"][-1][0],
                        train_s_median=float(np.median([r["train_s"] for r in runs.values()])),
                        curves={s: r["curve"] for s, r in runs.items()})
  print(f"{'impl':6s} {'steps':>9s} {'mean return':>12s}  per seed")
  for impl, r in rows.items():
    print(f"{impl:6s} {r['final_step']:9d} {r['final_mean']:12.1f}  "
          + ", ".join(f"{v:.1f}" for v in r["final_per_seed"]))
  (out / "summary.json").write_text(json.dumps(rows, indent=1))
  plot(rows, out / "ppo_vs_sb3.png")


def plot(rows: dict, path: epath.Path) -> None:
  """Evaluation return vs env steps: mean over seeds, shaded min–max."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(6, 4))
  for impl, r in rows.items():
    curves = np.array([[v for _, v in c] for c in r["curves"].values()])
    steps = np.array([s for s, _ in next(iter(r["curves"].values()))])
    label = {"ours": "offline_scaling PPO", "sb3": "Stable-Baselines3 PPO (defaults)"}[impl]
    ax.plot(steps, curves.mean(0), label=f"{label} ({len(curves)} seeds)")
    ax.fill_between(steps, curves.min(0), curves.max(0), alpha=0.2)
  ax.set_xlabel("env steps")
  ax.set_ylabel(f"eval return ({F.eval_episodes} episodes, mode action)")
  ax.set_title(f"{F.env} with bang-bang actions")
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)


def main(_):
  if F.impl == "summary":
    return summary()
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  path = out / f"curves_{F.impl}_from{F.first_seed}.json"
  done = load_runs(out, F.impl)
  runs = json.loads(path.read_text()) if path.exists() else {}
  for seed in range(F.first_seed, F.seeds):
    if str(seed) in done:
      continue
    runs[str(seed)] = (run_ours if F.impl == "ours" else run_sb3)(seed)
    print(F.impl, seed, runs[str(seed)]["curve"][-1], flush=True)
    path.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
  app.run(main)
