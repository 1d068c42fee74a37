"""Config of a PyBullet imitation run (BC / RFI / RCI).

Use with `--config=experiments/configs/pybullet_imitation.py:ALGO` and override
any field as `--config.train.updates_per_call=100`.
"""

from offline_scaling.train import pybullet_imitation


def get_config(algo: str = "bc"):
  config = pybullet_imitation.default_config()
  config.agent.algo = algo
  if algo == "rci":
    config.conditioners = (0.5, 0.75, 1.0, 1.25, 1.5)
  return config
