"""Stream throughput: transitions/s of the tf.data pipelines, on this machine.

    python -m benchmarks.data

* pybullet: the BC stream over real episode shards of HalfCheetah-sized
  episodes (obs 26, batch 256), against what the BC learner consumes at a
  4×256 MLP with batch 256 (measured in the same run, data pre-loaded on the
  device): the target is a ratio ≥ 5.
* atari: the CQL stream (PNG decode, 4-frame stacks, 3-step targets, batch 32)
  over RL Unplugged-format files written by the local generator from real
  Pong games; the target is ≥ 10k transitions/s per CPU core.
Medians over `repeats` windows; writes `<out>/data.json`.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import jax
import numpy as np
from absl import app, flags
from etils import epath

from benchmarks.common import NUM_ACTIONS, OBS_DIM, machine, make_data, quiet
from offline_scaling.agents import imitation
from offline_scaling.data import pipeline
from offline_scaling.train import atari_run

flags.DEFINE_integer("batches", 200, "batches per timed window")
flags.DEFINE_integer("repeats", 3, "timed windows (median reported)")
flags.DEFINE_string("out", "benchmarks/out", "output directory")
F = flags.FLAGS


def stream_rate(stream, batch_size: int) -> float:
  """Median transitions/s over timed windows (after one warm-up window)."""
  rates = []
  for w in range(F.repeats + 1):
    t0 = time.perf_counter()
    for _ in range(F.batches):
      next(stream)
    if w:
      rates.append(F.batches * batch_size / (time.perf_counter() - t0))
  return float(np.median(rates))


def learner_rate(batch_size: int = 256) -> float:
  """Transitions/s a 4×256 BC learner consumes (one update per jitted call)."""
  config = imitation.default_config()
  config.hidden = (256,) * 4
  agent = imitation.make_agent(OBS_DIM, NUM_ACTIONS, config)
  update = jax.jit(agent.update, donate_argnums=0)
  state = agent.init(jax.random.PRNGKey(0))
  rng = np.random.default_rng(0)
  batch = jax.device_put(dict(obs=rng.normal(size=(batch_size, OBS_DIM)).astype(np.float32),
                              action=rng.integers(0, NUM_ACTIONS, batch_size)))
  rates = []
  for w in range(F.repeats + 1):
    t0 = time.perf_counter()
    for _ in range(F.batches):
      state, m = update(state, batch)
    jax.block_until_ready(m)
    if w:
      rates.append(F.batches * batch_size / (time.perf_counter() - t0))
  return float(np.median(rates))


def pybullet(tmp: epath.Path) -> dict:
  source = make_data(tmp / "pybullet")
  config = pipeline.default_config()
  config.update(algo="bc", batch_size=256, repeat=True)
  ids = [p.policy_id for p in source.policies()]
  stream = stream_rate(pipeline.make_stream(source, ids, config), 256)
  learner = learner_rate()
  return dict(stream_transitions_per_s=stream, learner_transitions_per_s=learner,
              ratio=stream / learner)


def atari() -> dict:
  """The CQL stream over the locally generated Pong dataset (generated on first use)."""
  source = atari_run.make_source(atari_run.default_config("cql"))
  config = pipeline.default_config()
  config.update(algo="cql", frame_stack=4, batch_size=32, repeat=True, shuffle_block=4096)
  ids = [p.policy_id for p in source.policies()]
  rate = stream_rate(pipeline.make_stream(source, ids, config), 32)
  return dict(stream_transitions_per_s=rate, per_core=rate / os.cpu_count())


def main(_):
  quiet()
  with tempfile.TemporaryDirectory() as tmp:
    result = dict(machine=machine(), pybullet=pybullet(epath.Path(tmp)), atari=atari())
  p, a = result["pybullet"], result["atari"]
  print(f"pybullet BC stream: {p['stream_transitions_per_s']:,.0f} transitions/s; "
        f"4x256 BC learner consumes {p['learner_transitions_per_s']:,.0f}/s "
        f"(stream/learner = {p['ratio']:.1f})")
  print(f"atari CQL stream (PNG decode, 4-frame stacks, 3-step targets, batch 32): "
        f"{a['stream_transitions_per_s']:,.0f} transitions/s = {a['per_core']:,.0f} per core")
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  (out / "data.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
