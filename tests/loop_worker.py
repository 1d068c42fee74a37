"""Trains BC (MLP) or CQL (Nature CNN on 84×84×4 frames) on synthetic data with a
mesh of NUM_DEVICES devices, or as one of several processes; saves the params.

    python tests/loop_worker.py OUT.npz NUM_DEVICES [--algo=cql]
    python tests/loop_worker.py OUT.npz 2 --coordinator_address=localhost:PORT \
        --num_processes=2 --process_id=I --run_dir=DIR

XLA_FLAGS sets each process's CPU device count. Every process builds the same
one-process stream and feeds its own columns of each global batch (the part
process I of N would deliver), so N processes see exactly the global batches
of a one-process run: their parameters must match. (How processes split the
data files is the data layer's business, tested in tests/data.)
"""

import argparse
import pathlib
import sys
import tempfile

import jax
import numpy as np

# This checkout's package and test helpers, whatever is installed.
sys.path[:0] = [str(pathlib.Path(__file__).parent.parent), str(pathlib.Path(__file__).parent)]

from offline_scaling.agents import cql, imitation  # noqa: E402
from offline_scaling.data import pipeline  # noqa: E402
from offline_scaling.nets.cnn import NatureCNN  # noqa: E402
from offline_scaling.train import distributed, loop  # noqa: E402
from synthetic import make_atari_source, make_source  # noqa: E402


class ProcessPart:
  """This process's columns of every [S, K × B] batch of a one-process stream."""

  def __init__(self, stream, K, index, count):
    self._stream, self._K, self._index, self._count = stream, K, index, count

  def __iter__(self):
    return self

  def __next__(self):
    def part(x):
      x = x.reshape(x.shape[0], self._K, -1, *x.shape[2:])
      n = x.shape[2] // self._count
      return x[:, :, self._index * n:(self._index + 1) * n].reshape(x.shape[0], -1,
                                                                   *x.shape[3:])
    return {k: part(v) for k, v in next(self._stream).items()}

  def save(self, prefix):
    return self._stream.save(prefix)

  def restore(self, path):
    self._stream.restore(path)


def agent_and_stream(algo, data_dir, config):
  """The agent and the one-process stream of [S, K × B] transitions per call."""
  stream_config = pipeline.default_config()
  stream_config.update(algo=algo, repeat=True, batch_size=loop.stream_batch_size(config),
                       shuffle_block=100, num_seeds=config.num_seeds)
  if algo == "bc":
    source = make_source(data_dir, obs_dim=5)
    agent_config = imitation.default_config()
    agent_config.param_count = 5_000
    agent = imitation.make_agent(5, 8, agent_config)
  else:
    source = make_atari_source(data_dir)
    stream_config.frame_stack = 4
    agent_config = cql.default_config()
    agent_config.update(learning_rate=1e-3, target_update_period=5)
    agent = cql.make_agent(NatureCNN(), (84, 84, 4), 6, agent_config)
  ids = [p.policy_id for p in source.policies()]
  return agent, pipeline.make_stream(source, ids, stream_config)


def main(args):
  multi = distributed.initialize(args.coordinator_address, args.num_processes, args.process_id,
                                 heartbeat_timeout_s=10)
  config = loop.default_config()
  config.steps, config.updates_per_call, config.log_every = 40, 10, 20
  config.checkpoint_every, config.num_seeds, config.batch_size = 40, 2, 16
  if args.algo == "cql":
    config.steps, config.updates_per_call, config.checkpoint_every = 10, 5, 10
    config.log_every, config.batch_size, config.num_seeds = 5, 8, 1
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    agent, stream = agent_and_stream(args.algo, tmp / "data", config)
    if multi:
      mesh = distributed.global_mesh()
      stream = ProcessPart(stream, config.updates_per_call, *distributed.host())
    else:
      mesh = distributed.global_mesh(jax.devices()[:args.num_devices])
    trainer = loop.Trainer(agent, config, args.run_dir or tmp / "run", mesh=mesh)
    state, _ = trainer.train(stream, progress=False)
    leaves = jax.tree.leaves(jax.device_get(state.params))
    if distributed.is_primary():
      np.savez(args.out, *leaves)


if __name__ == "__main__":
  parser = argparse.ArgumentParser()
  parser.add_argument("out")
  parser.add_argument("num_devices", type=int)
  parser.add_argument("--algo", choices=("bc", "cql"), default="bc")
  parser.add_argument("--run_dir")
  parser.add_argument("--coordinator_address")
  parser.add_argument("--num_processes", type=int)
  parser.add_argument("--process_id", type=int)
  main(parser.parse_args())
