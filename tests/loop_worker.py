"""Trains BC on a synthetic source with a mesh of N devices; saves the params.

    python tests/loop_worker.py OUT.npz NUM_DEVICES   (XLA_FLAGS sets the CPU device count)
"""

import pathlib
import sys
import tempfile

import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from offline_scaling.agents import imitation  # noqa: E402
from offline_scaling.data import pipeline  # noqa: E402
from offline_scaling.train import loop  # noqa: E402
from synthetic import make_source  # noqa: E402


def main(out, num_devices):
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    source = make_source(tmp / "data", obs_dim=5)
    config = loop.default_config()
    config.steps, config.updates_per_call, config.log_every = 40, 10, 20
    config.checkpoint_every, config.num_seeds, config.batch_size = 40, 2, 16
    stream_config = pipeline.default_config()
    stream_config.update(repeat=True, batch_size=loop.stream_batch_size(config),
                         shuffle_block=100)
    agent_config = imitation.default_config()
    agent_config.param_count = 5_000
    agent = imitation.make_agent(5, 8, agent_config)
    ids = [p.policy_id for p in source.policies()]
    trainer = loop.Trainer(agent, config, tmp / "run",
                           mesh=loop.make_mesh(jax.devices()[:num_devices]))
    state, _ = trainer.train(pipeline.make_stream(source, ids, stream_config), progress=False)
    leaves = jax.tree.leaves(jax.device_get(state.params))
    np.savez(out, *leaves)


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]))
