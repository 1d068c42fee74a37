"""One PyBullet imitation run (BC / RFI / RCI) on a collection of expert episodes.

The episodes come from `experiments.pybullet_collect` (`config.data`); the
agent is an MLP sized for `agent.param_count`; evaluation plays the real env.
Everything else is `train.pybullet.run`.
"""

from __future__ import annotations

import ml_collections
from etils import epath

from offline_scaling.agents import imitation
from offline_scaling.data.pipeline import DatasetStats
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import pybullet, runs


def default_config() -> ml_collections.ConfigDict:
  """A run: data, selection, agent, stream, loop and evaluation settings."""
  return pybullet.make_config(imitation.default_config())


def validate(c: ml_collections.ConfigDict) -> None:
  """Checks every user-facing setting before any work starts."""
  imitation.validate_config(c.agent)
  pybullet.validate(c)


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path,
        progress: bool = True, run_id: str | None = None) -> dict:
  """Validates `config` (`default_config()` or a variant) and runs it with
  `pybullet.run`, which documents the arguments and the result record."""
  validate(config)
  return pybullet.run(config, workdir, _agent_for(config.agent), progress=progress,
                      run_id=run_id)


def reevaluate(run_dir: str | epath.Path, conditioners, tuning: bool = False) -> dict:
  """A finished RCI run's final parameters played at `conditioners`, on its
  reported episodes or (`tuning`) on episodes disjoint from them (see
  `pybullet.reevaluate`); nothing is trained."""
  record = runs.finished_result(run_dir)
  if record["algo"] != "rci":
    raise OfflineScalingError(f"{run_dir} is a {record['algo']} run: only RCI takes "
                              "conditioners")
  # Today's defaults under the record: a field added since keeps the value
  # every earlier run had (`runs.ADDED_FIELDS`).
  config = default_config()
  config.update(record["config"])
  return pybullet.reevaluate(run_dir, config, DatasetStats.from_record(record["dataset"]),
                             _agent_for(config.agent), conditioners, tuning)


def _agent_for(agent_config: ml_collections.ConfigDict) -> pybullet.AgentFor:
  def agent_for(obs_dim, num_actions):
    return lambda stats: imitation.make_agent(obs_dim, num_actions, agent_config,
                                              stats.g_min, stats.g_max)
  return agent_for
