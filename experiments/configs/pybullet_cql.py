"""Config of a PyBullet CQL run.

Use with `--config=experiments/configs/pybullet_cql.py` and override any field,
e.g. `--config.agent.target_update_period=500` or `--config.stream.n_step=5`.
"""

from offline_scaling.train import pybullet_cql


def get_config():
  return pybullet_cql.default_config()
