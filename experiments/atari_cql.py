"""Train CQL on Atari expertise data; see `experiments/atari_offline.py`.

    python -m experiments.atari_cql --width_mult=4
"""

from experiments import atari_offline, common

atari_offline.define_config("cql")

if __name__ == "__main__":
  common.run(atari_offline.main_for("cql"))
