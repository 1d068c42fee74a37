"""One PyBullet imitation run (BC / RFI / RCI), from episodes to a result record.

    select policies of the expertise level → dataset stats → stream →
    agent sized for `param_count` → Trainer (seeds vmapped) → evaluation in
    the real env → `<workdir>/<run_id>/result.json`
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np
from etils import epath

from offline_scaling.agents import imitation
from offline_scaling.data import pipeline
from offline_scaling.data.expertise import RULES, select_policies
from offline_scaling.data.sources import PybulletSource
from offline_scaling.envs import canonical_name, make_env
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import evaluation, loop, runs


def default_config() -> ml_collections.ConfigDict:
  """A run: data, selection, agent, stream, loop and evaluation settings."""
  c = ml_collections.ConfigDict()
  c.data = ""                  # a collection directory (policy_table.json + shards)
  c.env = "hopper"
  c.expertise = 1.0
  c.selection_rule = "value"
  c.num_policies = 100
  c.agent = imitation.default_config()
  c.train = loop.default_config()
  c.stream = pipeline.default_config()
  c.stream.repeat = True
  c.eval_episodes = 10
  c.eval_seed = 1_000
  c.conditioners = (1.0,)      # RCI only
  return c


def validate(c: ml_collections.ConfigDict) -> None:
  """Checks every user-facing setting before any work starts."""
  canonical_name(c.env)
  if c.agent.algo not in imitation.ALGOS:
    raise OfflineScalingError(f"algo '{c.agent.algo}' is not one of {imitation.ALGOS}")
  if not 0.0 < c.expertise <= 1.0:
    raise OfflineScalingError(f"--expertise={c.expertise} must lie in (0, 1]")
  if c.selection_rule not in RULES:
    raise OfflineScalingError(f"--selection_rule={c.selection_rule} must be one of {RULES}")
  if c.num_policies < 1:
    raise OfflineScalingError(f"--num_policies={c.num_policies} must be >= 1")
  if c.agent.param_count < 1_000:
    raise OfflineScalingError(f"--param_count={c.agent.param_count} must be at least 1,000")
  if c.eval_episodes < 1:
    raise OfflineScalingError(f"--eval_episodes={c.eval_episodes} must be >= 1")
  if c.agent.algo != "rci" and tuple(c.conditioners) != (1.0,):
    raise OfflineScalingError(
        f"--conditioners={list(c.conditioners)} only apply to RCI, not '{c.agent.algo}'")
  if not c.conditioners or any(not np.isfinite(x) for x in c.conditioners):
    raise OfflineScalingError(f"--conditioners={list(c.conditioners)} must be finite numbers")
  if not c.data:
    raise OfflineScalingError("--data must name a collection directory (policy_table.json)")


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path,
        progress: bool = True) -> dict:
  """Trains and evaluates one configuration; returns its result record.

  A run that already finished returns its stored result; a killed one resumes.
  """
  validate(config)
  config.stream.algo = config.agent.algo
  config.stream.batch_size = loop.stream_batch_size(config.train)
  config.stream.seed = config.train.seed
  rid = runs.run_id(config)
  run_dir = epath.Path(workdir) / rid
  done = runs.read_result(run_dir)
  if done:
    return done

  env = canonical_name(config.env)
  source = PybulletSource(config.data)
  table = [p for p in source.policies() if p.env == env]
  if not table:
    raise OfflineScalingError(f"the policy table in '{config.data}' has no policy for env '{env}'")
  selection = select_policies(table, config.expertise, config.num_policies,
                              config.selection_rule)
  stats = pipeline.dataset_stats(source, selection.policy_ids,
                                 rfi_fraction=config.stream.rfi_fraction)
  probe = make_env(env)
  obs_dim, num_actions = probe.observation_space.shape[0], int(probe.action_space.n)
  probe.close()
  agent = imitation.make_agent(obs_dim, num_actions, config.agent, stats.g_min, stats.g_max)
  conditioners = tuple(config.conditioners) if config.agent.algo == "rci" else (None,)

  def evaluate(params, step):
    out = {}
    for c in conditioners:
      kwargs = {} if c is None else {"conditioner": float(c)}
      returns = evaluation.evaluate_seeds(
          agent.act, params, env, config.train.num_seeds, config.eval_episodes,
          seed=config.eval_seed, deterministic=config.agent.eval_deterministic, **kwargs)
      prefix = "" if c is None else f"c={c:g}/"
      out[f"{prefix}returns"] = returns.tolist()
      out[f"{prefix}return_mean"] = float(returns.mean())
    if conditioners[0] is not None:  # RCI's headline: c = 1 if asked for, else the first
      c = 1.0 if 1.0 in conditioners else conditioners[0]
      out["return_mean"] = out[f"c={c:g}/return_mean"]
    return out

  trainer = loop.Trainer(agent, config.train, run_dir, evaluate=evaluate)
  stream = pipeline.make_stream(source, selection.policy_ids, config.stream, stats=stats)
  state, summary = trainer.train(stream, progress=progress)
  record = dict(run_id=rid, config=config.to_dict(), domain="pybullet", env=env,
                algo=config.agent.algo, expertise=config.expertise,
                selection_rule=config.selection_rule,
                param_count=imitation.param_count(jax.tree.map(lambda x: x[0], state.params)),
                steps=summary["steps"], samples_seen=summary["samples_seen"],
                data_exhausted=summary["data_exhausted"], eval=summary["eval"],
                eval_return=summary["eval"].get("return_mean"),
                selection=selection.to_dict(), dataset=stats.to_dict(),
                best_expert_value=selection.best_value)
  runs.write_result(run_dir, record)
  return record
