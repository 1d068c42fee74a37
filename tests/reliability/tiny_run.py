"""A tiny real training run (BC on real shards, orbax checkpoints) for in-process tests;
the shards come from the `shards` fixture (conftest.py)."""

import jax
import numpy as np

from offline_scaling.agents import imitation
from offline_scaling.data import pipeline
from offline_scaling.data.sources import PybulletSource
from offline_scaling.train import loop


def train(data, run_dir, steps, wrap=lambda stream: stream, log_every=10, learning_rate=3e-4):
  """BC, 2 vmapped seeds, 10 updates a call, a checkpoint every 20: (params as numpy, summary)."""
  config = loop.default_config()
  config.update(steps=steps, updates_per_call=10, log_every=log_every, checkpoint_every=20,
                num_seeds=2, batch_size=16)
  stream_config = pipeline.default_config()
  stream_config.update(repeat=True, batch_size=loop.stream_batch_size(config), shuffle_block=100,
                       num_seeds=config.num_seeds)
  agent_config = imitation.default_config()
  agent_config.update(param_count=5_000, learning_rate=learning_rate)
  source = PybulletSource(data)
  stream = pipeline.make_stream(source, [p.policy_id for p in source.policies()], stream_config)
  trainer = loop.Trainer(imitation.make_agent(5, 8, agent_config), config, run_dir)
  state, summary = trainer.train(wrap(stream), progress=False)
  return jax.tree.leaves(jax.device_get(state.params)), summary


def assert_same(a, b):
  assert len(a) == len(b) > 0
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)
