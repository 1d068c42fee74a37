"""Training PPO experts and reading them back: the expert zoo.

Zoo layout under `<zoo>/`:

    <env>/seed_<s>/checkpoints/<env_step>/{state,meta}   orbax, one per checkpoint
    <env>/seed_<s>/metrics.jsonl                         one line per PPO update

A policy's id is `<env>/seed_<s>/<env_step>`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Callable, Iterator

import jax
import ml_collections
import numpy as np
from etils import epath

from offline_scaling.agents import ppo
from offline_scaling.envs import canonical_name, make_vector_env
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import checkpoints, runs


def validate_schedule(config: ml_collections.ConfigDict, total_steps: int,
                      checkpoint_every: int) -> None:
  """Checkpoints fall on update boundaries; say so clearly when they cannot."""
  per_update = config.num_envs * config.rollout_len
  for flag, value in (("total_steps", total_steps), ("checkpoint_every", checkpoint_every)):
    if value <= 0 or value % per_update:
      raise OfflineScalingError(
          f"--{flag}={value} must be a positive multiple of the env steps per PPO "
          f"update (num_envs × rollout_len = {config.num_envs} × {config.rollout_len} "
          f"= {per_update})")


def run_dir(zoo: str | epath.Path, env: str, seed: int) -> epath.Path:
  """`<zoo>/<env>/seed_<seed>`: one PPO seed's checkpoints and metrics."""
  return epath.Path(zoo) / canonical_name(env) / f"seed_{seed}"


def train_expert(env: str, seed: int, zoo: str | epath.Path,
                 config: ml_collections.ConfigDict, total_steps: int,
                 checkpoint_every: int,
                 on_update: Callable[[dict], None] | None = None) -> epath.Path:
  """Trains one PPO seed, saving a checkpoint every `checkpoint_every` env steps.

  A killed run resumes from its last whole checkpoint (finished checkpoints are
  never redone; the envs restart fresh episodes). Returns the run directory.

  Args:
    env: env name (see `offline_scaling.envs.make_env`).
    seed: seeds the network init, the env copies and the action noise.
    zoo: the zoo directory.
    config: `ppo.default_config()` or a variant.
    total_steps: env steps to train for (a multiple of the update size).
    checkpoint_every: env steps between checkpoints (a multiple of the update size).
    on_update: called with each update's metrics dict (progress display).
  """
  validate_schedule(config, total_steps, checkpoint_every)
  env = canonical_name(env)
  out = run_dir(zoo, env, seed)
  mgr = checkpoints.manager(out / "checkpoints")
  metrics_path = out / "metrics.jsonl"

  # Resume: the env seed moves with the step so a resumed run sees new episodes.
  start = mgr.latest_step() or 0
  envs = make_vector_env(env, config.num_envs, seed=seed * 100_003 + start)
  obs_dim = envs.single_observation_space.shape[0]
  num_actions = int(envs.single_action_space.n)
  state = ppo.init(jax.random.PRNGKey(seed), obs_dim, num_actions, config)
  if start:
    state, _ = checkpoints.restore(mgr, start, state)
  runs.truncate_jsonl(metrics_path, "env_steps", start)
  update = ppo.make_update(config)

  obs, _ = envs.reset(seed=seed * 100_003 + start)
  episode_return = np.zeros(config.num_envs)
  finished: list[float] = []
  T, N = config.rollout_len, config.num_envs
  buf = {"obs": np.zeros((T, N, obs_dim), np.float32),
         "actions": np.zeros((T, N), np.int32),
         "log_probs": np.zeros((T, N), np.float32),
         "values": np.zeros((T, N), np.float32),
         "rewards": np.zeros((T, N), np.float32),
         "dones": np.zeros((T, N), np.float32)}
  rng = jax.random.PRNGKey(seed + 1_000_003 * (start + 1))
  env_steps = start
  with metrics_path.open("a") as log:
    while env_steps < total_steps:
      t0 = time.perf_counter()
      # One split per rollout, as host data: no extra dispatch per env step.
      rng, *keys = np.asarray(jax.random.split(rng, T + 1))
      for t in range(T):
        action, log_prob, value = jax.device_get(ppo.policy_step(state.policy, obs, keys[t]))
        next_obs, reward, terminated, truncated, info = envs.step(action)
        reward = reward.astype(np.float64)
        episode_return += reward
        done = terminated | truncated
        if truncated.any():
          # A time limit is not a terminal state: bootstrap from the final obs.
          final = np.stack([info["final_obs"][i] for i in np.flatnonzero(truncated)])
          boot = np.asarray(ppo.value(state.policy, final))
          reward[truncated] += config.gamma * boot * (~terminated[truncated])
        for i in np.flatnonzero(done):
          finished.append(float(episode_return[i]))
          episode_return[i] = 0.0
        buf["obs"][t], buf["actions"][t] = obs, action
        buf["log_probs"][t], buf["values"][t] = log_prob, value
        buf["rewards"][t], buf["dones"][t] = reward, done
        obs = next_obs
      rollout_s = time.perf_counter() - t0
      state, metrics = update(state, dict(buf, last_obs=obs))
      metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
      env_steps += T * N
      recent = finished[-20:]
      metrics.update(env_steps=env_steps, episodes=len(finished),
                     train_return=float(np.mean(recent)) if recent else float("nan"),
                     rollout_s=rollout_s, update_s=time.perf_counter() - t0 - rollout_s)
      log.write(json.dumps(metrics) + "\n")
      log.flush()
      if on_update:
        on_update(metrics)
      if env_steps % checkpoint_every == 0:
        meta = dict(env=env, seed=seed, env_steps=env_steps, obs_dim=obs_dim,
                    num_actions=num_actions, hidden=list(config.hidden),
                    train_return=metrics["train_return"], config=config.to_dict())
        checkpoints.save(mgr, env_steps, state, meta)
  envs.close()
  mgr.close()
  return out


@dataclasses.dataclass(frozen=True)
class ZooPolicy:
  """One saved expert checkpoint."""
  env: str
  seed: int
  env_steps: int
  path: epath.Path   # the seed's checkpoints directory

  @property
  def policy_id(self) -> str:
    """`<env>/seed_<s>/<env_steps>`."""
    return f"{self.env}/seed_{self.seed}/{self.env_steps}"

  def load(self) -> tuple[ppo.Policy, dict]:
    """(policy, metadata) of this checkpoint."""
    mgr = checkpoints.manager(self.path)
    meta = checkpoints.read_meta(mgr, self.env_steps)
    config = ppo.default_config()
    config.hidden = tuple(meta["hidden"])
    like = ppo.init(jax.random.PRNGKey(0), meta["obs_dim"], meta["num_actions"], config)
    state, meta = checkpoints.restore(mgr, self.env_steps, like)
    mgr.close()
    return state.policy, meta


def list_zoo(zoo: str | epath.Path, env: str | None = None) -> list[ZooPolicy]:
  """Every whole checkpoint in the zoo (optionally of one env), sorted by id.

  Raises:
    OfflineScalingError: when the zoo directory does not exist or holds no
      checkpoint.
  """
  root = epath.Path(zoo)
  if not root.exists():
    raise OfflineScalingError(f"expert zoo '{root}' does not exist")
  envs = [canonical_name(env)] if env else sorted(p.name for p in root.iterdir() if p.is_dir())
  out = []
  for name in envs:
    for seed_dir in sorted((root / name).glob("seed_*")):
      mgr = checkpoints.manager(seed_dir / "checkpoints")
      seed = int(seed_dir.name.removeprefix("seed_"))
      out += [ZooPolicy(name, seed, int(s), seed_dir / "checkpoints") for s in mgr.all_steps()]
      mgr.close()
  if not out:
    raise OfflineScalingError(f"expert zoo '{root}' holds no checkpoint"
                              + (f" for env '{env}'" if env else ""))
  return sorted(out, key=lambda p: (p.env, p.seed, p.env_steps))


def iter_seeds(num_seeds: int, task_index: int, num_tasks: int) -> Iterator[int]:
  """The seeds of 0..num_seeds-1 that belong to task `task_index` of `num_tasks`."""
  return (s for s in range(num_seeds) if s % num_tasks == task_index)
