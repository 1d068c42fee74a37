"""What every PyBullet run shares, whatever its agent: the config's data and
env fields, their checks, the env probe, evaluation in the real env, and
`offline_run.run` on the collection's shards (`pybullet_imitation`, `pybullet_cql`)."""

from __future__ import annotations

from typing import Callable

import ml_collections
from etils import epath

from offline_scaling.agents.base import Agent
from offline_scaling.data.pipeline import DatasetStats
from offline_scaling.data.sources import PybulletSource
from offline_scaling.envs import canonical_name, make_env
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import evaluation, offline_run

# (obs_dim, num_actions) -> build_agent(stats): called once the env is probed,
# before any data are read, so a setting the env rules out fails first.
AgentFor = Callable[[int, int], Callable[[DatasetStats], Agent]]


def make_config(agent: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A run of `agent` settings: data, env, selection, stream, loop and evaluation."""
  c = offline_run.base_config()
  c.data = ""                  # a collection directory (policy_table.json + shards)
  c.env = "hopper"
  c.agent = agent
  c.stream.repeat = True
  return c


def validate(c: ml_collections.ConfigDict) -> None:
  """Checks the settings every PyBullet run has (the agent's own are checked by
  its module); one message naming the flag."""
  c.env = canonical_name(c.env)
  if c.agent.param_count < 1_000:
    raise OfflineScalingError(f"--param_count={c.agent.param_count} must be at least 1,000")
  if not c.data:
    raise OfflineScalingError("--data must name a collection directory (policy_table.json)")
  offline_run.validate_base(c, c.agent.algo)


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path, agent_for: AgentFor,
        progress: bool = True, run_id: str | None = None) -> dict:
  """Trains and evaluates one validated configuration; returns its result record.

  Args:
    config: a `make_config(...)` variant, already validated.
    workdir: the run lives in `<workdir>/<run_id>/`.
    agent_for: the agent for the env's sizes and the dataset's statistics.
    progress: show a progress bar.
    run_id: the run's directory name; default: the hash of the config.

  Returns:
    The result record (see `offline_run.run`); `eval_return` is the mean
    evaluation return over seeds and episodes (env reward units).
  """
  build_agent, play = _agent_and_play(config, agent_for)
  return offline_run.run(config, workdir, domain="pybullet", algo=config.agent.algo,
                         source=PybulletSource(config.data), build_agent=build_agent,
                         play=play, deterministic_eval=config.agent.eval_deterministic,
                         progress=progress, run_id=run_id)


def reevaluate(run_dir: str | epath.Path, config: ml_collections.ConfigDict,
               stats: DatasetStats, agent_for: AgentFor, conditioners,
               tuning: bool = False) -> dict:
  """`offline_run.reevaluate` of a finished PyBullet run whose config and
  dataset statistics are `config` and `stats`: its final parameters played in
  the real env at `conditioners`, with the run's own evaluation settings
  (episodes, deterministic or not) on its reported episodes, or with
  `tuning` on episodes disjoint from them (`offline_run.eval_seed_for`)."""
  build_agent, play = _agent_and_play(config, agent_for)
  return offline_run.reevaluate(run_dir, stats, config.train, build_agent, play, conditioners,
                                offline_run.eval_seed_for(config.eval_seed, tuning),
                                config.agent.eval_deterministic)


def _agent_and_play(config: ml_collections.ConfigDict, agent_for: AgentFor):
  """(build_agent for the probed env's sizes, play in the real env with the
  config's evaluation settings)."""
  probe = make_env(config.env)
  obs_dim, num_actions = probe.observation_space.shape[0], int(probe.action_space.n)
  probe.close()

  def play(agent, params, act_kwargs, seed):
    return evaluation.evaluate_seeds(agent.act, params, config.env, config.train.num_seeds,
                                     config.eval_episodes, seed=seed, **act_kwargs)

  return agent_for(obs_dim, num_actions), play
