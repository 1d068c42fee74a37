"""One PyBullet imitation run (BC / RFI / RCI) on a collection of expert episodes.

The episodes come from `experiments.pybullet_collect` (`config.data`); the
agent is an MLP sized for `agent.param_count`; evaluation plays the real env.
Everything else is `offline_run.run`.
"""

from __future__ import annotations

import ml_collections
from etils import epath

from offline_scaling.agents import imitation
from offline_scaling.data.sources import PybulletSource
from offline_scaling.envs import canonical_name, make_env
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import evaluation, offline_run


def default_config() -> ml_collections.ConfigDict:
  """A run: data, selection, agent, stream, loop and evaluation settings."""
  c = offline_run.base_config()
  c.data = ""                  # a collection directory (policy_table.json + shards)
  c.env = "hopper"
  c.agent = imitation.default_config()
  c.stream.repeat = True
  return c


def validate(c: ml_collections.ConfigDict) -> None:
  """Checks every user-facing setting before any work starts."""
  c.env = canonical_name(c.env)
  imitation.validate_config(c.agent)
  if c.agent.param_count < 1_000:
    raise OfflineScalingError(f"--param_count={c.agent.param_count} must be at least 1,000")
  if not c.data:
    raise OfflineScalingError("--data must name a collection directory (policy_table.json)")
  offline_run.validate_base(c, c.agent.algo)


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path,
        progress: bool = True, run_id: str | None = None) -> dict:
  """Trains and evaluates one configuration; returns its result record.

  Args:
    config: `default_config()` or a variant (validated here).
    workdir: the run lives in `<workdir>/<run_id>/`; a finished run is returned
      as stored, a killed one resumes.
    progress: show a progress bar.
    run_id: the run's directory name; default: the hash of the config (see
      `offline_run.run`).

  Returns:
    The result record (see `offline_run.run`); `eval_return` is the mean
    evaluation return over seeds and episodes (env reward units).
  """
  validate(config)
  probe = make_env(config.env)
  obs_dim, num_actions = probe.observation_space.shape[0], int(probe.action_space.n)
  probe.close()

  def build_agent(stats):
    return imitation.make_agent(obs_dim, num_actions, config.agent, stats.g_min, stats.g_max)

  def play(agent, params, act_kwargs):
    return evaluation.evaluate_seeds(agent.act, params, config.env, config.train.num_seeds,
                                     config.eval_episodes, seed=config.eval_seed, **act_kwargs)

  return offline_run.run(config, workdir, domain="pybullet", algo=config.agent.algo,
                         source=PybulletSource(config.data), build_agent=build_agent,
                         play=play, deterministic_eval=config.agent.eval_deterministic,
                         progress=progress, run_id=run_id)
