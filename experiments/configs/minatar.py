"""Config of a MinAtar run (CQL on C51, RCI or BC).

Use with `--config=experiments/configs/minatar.py:ALGO` and override any field,
e.g. `--config.agent.alpha=0.5` or `--config.hidden=0`.
"""

from offline_scaling.train import minatar_run


def get_config(algo: str = "cql"):
  config = minatar_run.default_config(algo)
  if algo == "rci":
    config.conditioners = (0.5, 0.75, 1.0, 1.25, 1.5)
  return config
