"""Imitation learner throughput: updates/s and samples/s, pipeline included.

    python -m benchmarks.learners [--sizes=4x256,4x1024,4x2048 --batch_size=256]

For each MLP (depth × width; obs 26, 64 actions as HalfCheetah with bang-bang
actions) and algorithm (BC, RCI) it trains through the real `Trainer` on a
real tf.data stream of episode shards, and reports the median over
`repeats` timed windows of
  updates/s, samples/s, model TFLOP/s (6 × params × batch per update: forward
  + backward matmuls) and that as a fraction of this machine's measured f32
  matmul peak (a jitted 2048² matmul, median of several runs).
It also times `num_seeds` vmapped 10K-parameter models against one.
Writes `<out>/learners.json`.
"""

from __future__ import annotations

import json
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from etils import epath

from benchmarks.common import NUM_ACTIONS, OBS_DIM, machine, make_data
from offline_scaling.agents import imitation
from offline_scaling.data import pipeline
from offline_scaling.train import loop

flags.DEFINE_list("sizes", ["4x256", "4x1024", "4x2048"], "depth x width of the MLPs")
flags.DEFINE_list("algos", ["bc", "rci"], "algorithms")
flags.DEFINE_integer("batch_size", 256, "batch per update")
flags.DEFINE_integer("updates", 1000, "updates per timed window")
flags.DEFINE_integer("repeats", 3, "timed windows (median reported)")
flags.DEFINE_integer("num_seeds", 8, "seeds for the vmap check")
flags.DEFINE_string("out", "benchmarks/out", "output directory")
F = flags.FLAGS

def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
  a = jnp.ones((n, n), jnp.float32)
  f = jax.jit(lambda x: x @ x)
  f(a).block_until_ready()
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    f(a).block_until_ready()
    times.append(time.perf_counter() - t0)
  return 2 * n ** 3 / np.median(times) / 1e9


def time_trainer(source, algo: str, hidden: tuple[int, ...], num_seeds: int, workdir) -> dict:
  """Median updates/s (per seed) of the Trainer over timed windows, pipeline included."""
  agent_config = imitation.default_config()
  agent_config.algo, agent_config.hidden = algo, hidden
  agent = imitation.make_agent(OBS_DIM, NUM_ACTIONS, agent_config, 0.0, 1.0)
  config = loop.default_config()
  K = 50
  config.update(batch_size=F.batch_size, num_seeds=num_seeds, updates_per_call=K,
                log_every=F.updates, steps=F.updates * (F.repeats + 1),
                checkpoint_every=F.updates * (F.repeats + 1))
  stream_config = pipeline.default_config()
  stream_config.update(algo=algo, repeat=True, batch_size=loop.stream_batch_size(config))
  ids = [p.policy_id for p in source.policies()]
  stream = pipeline.make_stream(source, ids, stream_config)
  trainer = loop.Trainer(agent, config, epath.Path(workdir) / f"{algo}-{hidden}-{num_seeds}")
  state = trainer.init_state()
  windows = []
  for w in range(F.repeats + 1):  # the first window includes compilation
    t0 = time.perf_counter()
    for _ in range(F.updates // K):
      state, metrics = trainer.update(state, next(stream))
    jax.block_until_ready(metrics)
    if w:
      windows.append(F.updates / (time.perf_counter() - t0))
  params = imitation.param_count(jax.tree.map(lambda x: x[0], state.params))
  ups = float(np.median(windows))
  return dict(algo=algo, hidden=list(hidden), num_seeds=num_seeds, params=params,
              updates_per_s=ups, samples_per_s=ups * F.batch_size * num_seeds,
              tflops=6 * params * F.batch_size * num_seeds * ups / 1e12)


def main(_):
  peak = matmul_peak_gflops()
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    source = make_data(epath.Path(tmp) / "data")
    for size in F.sizes:
      depth, width = (int(x) for x in size.split("x"))
      for algo in F.algos:
        row = time_trainer(source, algo, (width,) * depth, 1, tmp)
        row["peak_fraction"] = row["tflops"] * 1e3 / peak
        rows.append(row)
        print(f"{algo:4s} {size:>7s} {row['params']:>10,d} params  "
              f"{row['updates_per_s']:8.1f} upd/s  {row['samples_per_s']:10.0f} samples/s  "
              f"{row['peak_fraction']:6.1%} of peak", flush=True)
    one = time_trainer(source, "bc", (109,), 1, tmp)
    many = time_trainer(source, "bc", (109,), F.num_seeds, tmp)
  vmap_ratio = one["updates_per_s"] / many["updates_per_s"]
  print(f"matmul peak: {peak:.0f} GFLOP/s")
  print(f"{F.num_seeds} vmapped seeds of a {one['params']:,}-param BC take {vmap_ratio:.2f}× "
        "the wall time of one")
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  (out / "learners.json").write_text(json.dumps(dict(
      machine=machine(),
      backend=jax.default_backend(), matmul_peak_gflops=peak, batch_size=F.batch_size,
      rows=rows, vmap=dict(one=one, many=many, wall_time_ratio=vmap_ratio)), indent=1))


if __name__ == "__main__":
  app.run(main)
