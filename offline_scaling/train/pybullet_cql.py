"""One PyBullet CQL run: C51 CQL (`agents.cql`) on an MLP torso over the 2^D
bang-bang actions, from a collection of expert episodes.

The episodes come from `experiments.pybullet_collect` (`config.data`) and are
streamed in the `cql` layout (n-step rewards, discounts, next observations;
`data.pipeline`). The network (torso + dueling C51 head) is sized for
`agent.param_count` (`cql.mlp_torso`). PyBullet rewards are not clipped, so
the TD target sees them scaled by c = min(−v_min, v_max)·(1 − γ)/max|r|, with
max|r| the largest one-step |reward| of the selected episodes (`DatasetStats`)
and γ the stream's discount: every discounted value then lies inside the
support [v_min, v_max] (`cql.reward_scale_for`). Evaluation plays the real env
greedily. Everything else is `train.pybullet.run`.
"""

from __future__ import annotations

import jax.numpy as jnp
import ml_collections
from etils import epath

from offline_scaling.agents import cql
from offline_scaling.train import pybullet


def default_config() -> ml_collections.ConfigDict:
  """A run: data, selection, agent (`cql.mlp_config`), stream, loop and evaluation."""
  return pybullet.make_config(cql.mlp_config())


def validate(c: ml_collections.ConfigDict) -> None:
  """Checks every user-facing setting before any work starts."""
  cql.validate_config(c.agent)
  pybullet.validate(c)
  cql.check_scalable(c.stream.gamma, c.agent)


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path,
        progress: bool = True, run_id: str | None = None) -> dict:
  """Validates `config` (`default_config()` or a variant) and runs it with
  `pybullet.run`, which documents the arguments and the result record;
  evaluation is greedy; the reward range behind CQL's reward scale is under `dataset`
  (`r_min`, `r_max`)."""
  validate(config)

  def agent_for(obs_dim, num_actions):
    torso = cql.mlp_torso(obs_dim, num_actions, config.agent)   # a size too small fails here

    def build_agent(stats):
      scale = cql.reward_scale_for(stats.r_min, stats.r_max, config.stream.gamma, config.agent)
      return cql.make_agent(torso, (obs_dim,), num_actions, config.agent,
                            obs_dtype=jnp.float32, reward_scale=scale)
    return build_agent

  return pybullet.run(config, workdir, agent_for, progress=progress, run_id=run_id)
