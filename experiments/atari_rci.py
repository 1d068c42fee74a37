r"""Train RCI on Atari expertise data; see `experiments/atari_offline.py`.

    python -m experiments.atari_rci --width_mult=4
    python -m experiments.atari_rci --source=rlu --data_dir=gs://rl_unplugged/atari_episodes_ordered \
        --game=Breakout --expertise=0.5 --width_mult=2 --steps=100000 --seeds=4

With no data flags it trains on a small dataset generated from real Pong games
on first use, in ~/.cache/offline_scaling/atari (or $OFFLINE_SCALING_CACHE),
and says so; --source=rlu|tfds|dopamine with --data_dir trains on DQN Replay.
"""

from absl import flags

from experiments import atari_offline, common

atari_offline.define_config("rci")
flags.adopt_module_key_flags(atari_offline)

if __name__ == "__main__":
  common.run(atari_offline.main_for("rci"))
