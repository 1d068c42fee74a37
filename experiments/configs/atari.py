"""Config of an Atari run (CQL on C51, or RCI).

Use with `--config=experiments/configs/atari.py:ALGO` and override any field,
e.g. `--config.agent.alpha=0.5` or `--config.local.steps_per_checkpoint=5000`.
"""

from offline_scaling.train import atari_run


def get_config(algo: str = "cql"):
  config = atari_run.default_config(algo)
  if algo == "rci":
    config.conditioners = (0.5, 0.75, 1.0, 1.25, 1.5)
  return config
