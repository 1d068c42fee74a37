"""Learner throughput: updates/s and samples/s, data pipeline included.

    python -m benchmarks.learners                  # PyBullet: BC and RCI on MLPs
    python -m benchmarks.learners --domain=atari   # Atari: CQL at each Impala width + Nature CNN

Every row trains through the real `Trainer` on a real tf.data stream: PyBullet
on episode shards of HalfCheetah-sized random episodes (obs 26, 64 actions),
Atari on the locally generated Pong dataset (RL Unplugged format, PNG decode,
4-frame stacks, 3-step targets). Reported per row, as the median over
`repeats` timed windows after a warm-up window that includes compilation:
updates/s, samples/s, model FLOP/s (XLA's own count of the jitted update) and
that as a fraction of this machine's measured f32 matmul peak (a jitted
2048² matmul, median of several runs). The PyBullet run also times
`num_seeds` vmapped 10K-parameter models against one. Writes
`<out>/learners_<domain>.json`.
"""

from __future__ import annotations

import json
import tempfile
import time

import jax
import numpy as np
from absl import app, flags
from etils import epath

from benchmarks.common import (ATARI_ACTIONS, ATARI_OBS, NUM_ACTIONS, OBS_DIM, machine,
                               make_data, matmul_peak_gflops, quiet, update_flops)
from offline_scaling.agents import cql, imitation
from offline_scaling.data import pipeline
from offline_scaling.nets.sizing import tree_param_count
from offline_scaling.train import atari_run, loop

flags.DEFINE_enum("domain", "pybullet", ["pybullet", "atari"], "which learners")
flags.DEFINE_list("sizes", ["4x256", "4x1024", "4x2048"], "PyBullet: depth x width of the MLPs")
flags.DEFINE_list("algos", ["bc", "rci"], "PyBullet: algorithms")
flags.DEFINE_list("torsos", ["nature", "0.5", "1", "2", "3", "4", "6"],
                  "Atari: 'nature' or Impala width multipliers")
flags.DEFINE_integer("batch_size", None, "batch per update (default 256 PyBullet, 32 Atari)")
flags.DEFINE_integer("updates", None, "updates per timed window (default: sized by --window_s)")
flags.DEFINE_float("window_s", 3.0, "timed window length aimed for, at the matmul peak")
flags.DEFINE_integer("repeats", 3, "timed windows (median reported)")
flags.DEFINE_integer("num_seeds", 8, "seeds for the vmap check")
flags.DEFINE_string("out", "benchmarks/out", "output directory")
F = flags.FLAGS
PEAK_GFLOPS = 0.0  # measured at start


def time_trainer(source, agent, stream_config, batch_size: int, num_seeds: int,
                 updates: int | None, updates_per_call: int, workdir: epath.Path,
                 unroll: bool = False) -> dict:
  """Median updates/s (per seed) of the Trainer over timed windows, pipeline included.

  `updates` per window; None sizes windows to about `--window_s` at the matmul peak.
  """
  config = loop.default_config()
  config.update(batch_size=batch_size, num_seeds=num_seeds, updates_per_call=updates_per_call,
                log_every=updates_per_call, steps=10 ** 9, checkpoint_every=10 ** 9,
                unroll=unroll)
  stream_config.update(repeat=True, batch_size=loop.stream_batch_size(config))
  ids = [p.policy_id for p in source.policies()]
  stream = pipeline.make_stream(source, ids, stream_config)
  trainer = loop.Trainer(agent, config, workdir)
  state = trainer.init_state()
  flops = update_flops(agent, state, next(stream), batch_size)
  if updates is None:  # about `window_s` seconds per window at the matmul peak
    calls = round(F.window_s * PEAK_GFLOPS * 1e9 / (flops * updates_per_call))
    updates = updates_per_call * int(np.clip(calls, 1, 1000 // updates_per_call))
  windows = []
  for w in range(F.repeats + 1):  # the first window includes compilation
    t0 = time.perf_counter()
    for _ in range(updates // updates_per_call):
      state, metrics = trainer.update(state, next(stream))
    jax.block_until_ready(metrics)
    if w:
      windows.append(updates / (time.perf_counter() - t0))
  params = tree_param_count(jax.tree.map(lambda x: x[0], state.params))
  ups = float(np.median(windows))
  return dict(num_seeds=num_seeds, params=params, batch_size=batch_size, updates=updates,
              updates_per_s=ups, samples_per_s=ups * batch_size * num_seeds,
              gflops_per_update=flops / 1e9, gflops_per_s=flops * ups / 1e9)


def pybullet_rows(tmp: epath.Path, peak: float) -> dict:
  batch, updates = F.batch_size or 256, F.updates
  source = make_data(tmp / "data")

  def row(algo, hidden, seeds):
    config = imitation.default_config()
    config.algo, config.hidden = algo, hidden
    agent = imitation.make_agent(OBS_DIM, NUM_ACTIONS, config, 0.0, 1.0)
    stream = pipeline.default_config()
    stream.algo = algo
    r = time_trainer(source, agent, stream, batch, seeds, updates, 50,
                     tmp / f"{algo}-{len(hidden)}x{hidden[0]}-{seeds}")
    return dict(r, algo=algo, hidden=list(hidden), peak_fraction=r["gflops_per_s"] / peak)

  rows = []
  for size in F.sizes:
    depth, width = (int(x) for x in size.split("x"))
    for algo in F.algos:
      r = row(algo, (width,) * depth, 1)
      rows.append(r)
      print(f"{algo:4s} {size:>7s} {r['params']:>11,d} params {r['updates_per_s']:9.1f} upd/s "
            f"{r['samples_per_s']:10.0f} samples/s {r['peak_fraction']:6.1%} of peak", flush=True)
  one, many = row("bc", (109,), 1), row("bc", (109,), F.num_seeds)
  ratio = one["updates_per_s"] / many["updates_per_s"]
  print(f"{F.num_seeds} vmapped seeds of a {one['params']:,}-param BC take {ratio:.2f}× "
        "the wall time of one")
  return dict(rows=rows, vmap=dict(one=one, many=many, wall_time_ratio=ratio))


def atari_rows(tmp: epath.Path, peak: float) -> dict:
  batch, updates = F.batch_size or 32, F.updates
  config = atari_run.default_config("cql")
  source = atari_run.make_source(config)
  rows = []
  for torso in F.torsos:
    config.torso = "nature" if torso == "nature" else "impala"
    config.width_mult = 1.0 if torso == "nature" else float(torso)
    agent = cql.make_agent(atari_run.make_torso(config), ATARI_OBS, ATARI_ACTIONS,
                           config.agent)
    stream = pipeline.default_config()
    stream.update(algo="cql", frame_stack=4, shuffle_block=2048)
    r = time_trainer(source, agent, stream, batch, 1, updates, config.train.updates_per_call,
                     tmp / f"cql-{torso}", unroll=config.train.unroll)
    r = dict(r, algo="cql", torso=torso, peak_fraction=r["gflops_per_s"] / peak)
    rows.append(r)
    print(f"cql {torso:>7s} {r['params']:>11,d} params {r['updates_per_s']:8.2f} upd/s "
          f"{r['gflops_per_update']:8.1f} GFLOP/update {r['peak_fraction']:6.1%} of peak",
          flush=True)
  return dict(rows=rows)


def main(_):
  global PEAK_GFLOPS
  quiet()
  peak = PEAK_GFLOPS = matmul_peak_gflops()
  print(f"matmul peak: {peak:.0f} GFLOP/s ({jax.default_backend()})")
  with tempfile.TemporaryDirectory() as tmp:
    result = (pybullet_rows if F.domain == "pybullet" else atari_rows)(epath.Path(tmp), peak)
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  (out / f"learners_{F.domain}.json").write_text(json.dumps(dict(
      result, machine=machine(), backend=jax.default_backend(), matmul_peak_gflops=peak),
      indent=1))


if __name__ == "__main__":
  app.run(main)
