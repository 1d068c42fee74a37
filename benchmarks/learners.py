"""Learner throughput: updates/s and samples/s, data pipeline included, and
the same against d3rlpy's learners in the same run when d3rlpy is installed.

    python -m benchmarks.learners                  # PyBullet: BC and RCI on MLPs
    python -m benchmarks.learners --domain=atari   # Atari: CQL at each Impala width + Nature CNN

Every row trains through the real `Trainer` on a real tf.data stream: PyBullet
on episode shards of HalfCheetah-sized random episodes (obs 26, 64 actions),
Atari on the locally generated Pong dataset (RL Unplugged format) with the
stream settings of `train.atari_run` (PNG decode, 4-frame stacks, 3-step
targets). Reported per row, as the median over `repeats` timed windows
(sized to about `window_s` seconds by a calibration run after a warm-up run
that includes compilation): updates/s, samples/s, model FLOP/s (XLA's own
count of the jitted update) and that as a fraction of this machine's measured
f32 matmul peak (a jitted 2048² matmul, median of several runs). The PyBullet
run also times `num_seeds` vmapped 10K-parameter models against one. Writes
`<out>/learners_<domain>.json`.

**A busy machine gives no ratio.** Every window records the cores other
processes kept busy during it (`common.OthersLoad`, which leaves out this
process and the peer's) and the 1-minute load average before and after it
(which counts the benchmark itself, so it is recorded, not judged). Where
others took more than `common.BUSY_CORES` of a core in any window of a
comparison, its ratio is not reported (`busy`, and one line saying so). Raw
HopperBulletEnv steps/s are measured before and after, beside the matmul peak.

**Peers (d3rlpy).** Where `d3rlpy` is importable (`benchmarks.d3rlpy_peer`;
never a dependency of the library), every BC row is paired with d3rlpy's
`DiscreteBC` on the same MLP and batch, and the Nature CNN row with d3rlpy's
`DiscreteCQL` on the same CNN, batch and α (with its default Q head, one
value per action: lighter than our C51 head). Ours and theirs then run in
alternating windows (ours, theirs, ours, theirs, ...), so load from other
processes falls on both alike; the ratio is the median over rounds of ours / theirs in the same round. Each
side's updates include its own input pipeline: ours the tf.data stream
(Atari: reading RL Unplugged files, PNG decode, frame stacks, n-step targets,
block shuffle, batching, host-to-device copy), theirs its in-memory replay
buffer (uniform sampling, frame stacking at sampling time, numpy to torch).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from typing import Callable, Sequence

import jax
import numpy as np
from absl import app, flags
from etils import epath

from benchmarks import d3rlpy_peer
from benchmarks.common import (ATARI_ACTIONS, ATARI_OBS, BUSY_CORES, NUM_ACTIONS, OBS_DIM,
                               OthersLoad, machine, make_data, matmul_peak_gflops, quiet,
                               raw_env_rate, update_flops)
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
flags.DEFINE_float("window_s", 3.0, "timed window length aimed for, in seconds")
flags.DEFINE_integer("repeats", 5, "timed windows per learner (median reported)")
flags.DEFINE_integer("num_seeds", 8, "seeds for the vmap check")
flags.DEFINE_bool("peers", True, "time d3rlpy beside ours where it is importable")
flags.DEFINE_string("out", "benchmarks/out", "output directory")
F = flags.FLAGS


@dataclasses.dataclass
class Learner:
  """A learner timed in windows: `run(n)` trains n updates (a multiple of
  `per_call`) and returns their updates/s; `pids`: other processes doing its
  work (a peer's server), whose CPU is not others' load."""
  run: Callable[[int], float]
  per_call: int = 1
  pids: tuple[int, ...] = ()


@dataclasses.dataclass
class Windows:
  """One learner's timed windows: updates/s, the cores other processes kept
  busy, and the 1-minute load average before and after each."""
  rates: list[float] = dataclasses.field(default_factory=list)
  others_cores: list[float | None] = dataclasses.field(default_factory=list)
  load_before: list[float] = dataclasses.field(default_factory=list)
  load_after: list[float] = dataclasses.field(default_factory=list)

  @property
  def busy(self) -> bool:
    """Whether others took more than `BUSY_CORES` of a core in any window."""
    return any(c is not None and c > BUSY_CORES for c in self.others_cores)

  def record(self) -> dict:
    return dict(windows=self.rates, others_cores=self.others_cores,
                load_before=self.load_before, load_after=self.load_after)


def window_updates(learner: Learner, window_s: float, updates: int | None) -> int:
  """Updates per timed window: `updates` (rounded to whole calls) if given, else
  about `window_s` seconds' worth at the rate of a calibration run of >= 0.5 s.
  A first run (one call, compilation included) warms the learner up."""
  k = learner.per_call
  learner.run(k)
  if updates:
    return max(k, updates // k * k)
  n = k
  while True:
    t0 = time.perf_counter()
    learner.run(n)
    elapsed = time.perf_counter() - t0
    if elapsed >= 0.5:
      return max(k, round(n * window_s / elapsed / k) * k)
    n *= 2


def settle(poll_s: float = 0.05, idle_cores: float = 0.1) -> None:
  """Returns once this process uses under `idle_cores` of CPU over `poll_s`:
  e.g. once our tf.data stream has refilled its buffers after a window."""
  while True:
    cpu0 = time.process_time()
    time.sleep(poll_s)
    if time.process_time() - cpu0 < idle_cores * poll_s:
      return


def alternate(learners: Sequence[Learner], repeats: int) -> list[Windows]:
  """Each learner's windows over `repeats` rounds; a round times one window of
  every learner in turn, so load from other processes falls on them alike. A
  window lasts until the process is idle again (`settle`): the work our stream
  does after the window to refill its buffers, for the data the window used,
  counts to that window and does not run in the next learner's."""
  sizes = [window_updates(l, F.window_s, F.updates) for l in learners]
  out = [Windows() for _ in learners]
  for _ in range(repeats):
    for learner, n, w in zip(learners, sizes, out):
      settle()
      w.load_before.append(os.getloadavg()[0])
      with OthersLoad(learner.pids) as others:
        t0 = time.perf_counter()
        learner.run(n)
        settle()
        w.rates.append(n / (time.perf_counter() - t0))
      w.others_cores.append(others.cores)
      w.load_after.append(os.getloadavg()[0])
  return out


def busy_line(what: str) -> str:
  """The one line a busy comparison gets instead of its ratio."""
  return (f"{what}: BUSY (other processes took over {BUSY_CORES} of a core in a window); "
          "no ratio reported")


def trainer_learner(source, agent, stream_config, batch_size: int, num_seeds: int,
                    updates_per_call: int, workdir: epath.Path,
                    unroll: bool = False) -> tuple[Learner, dict]:
  """Our learner: the Trainer on a real stream, pipeline included; and its
  size (params, batch, seeds, XLA's GFLOP per update)."""
  config = loop.default_config()
  config.update(batch_size=batch_size, num_seeds=num_seeds, updates_per_call=updates_per_call,
                log_every=updates_per_call, steps=10 ** 9, checkpoint_every=10 ** 9,
                unroll=unroll)
  stream_config.update(repeat=True, batch_size=loop.stream_batch_size(config),
                       num_seeds=num_seeds)
  ids = [p.policy_id for p in source.policies()]
  stream = pipeline.make_stream(source, ids, stream_config)
  trainer = loop.Trainer(agent, config, workdir)
  state = trainer.init_state()
  flops = update_flops(agent, state, next(stream), batch_size)

  def run(n: int) -> float:
    nonlocal state
    t0 = time.perf_counter()
    for _ in range(n // updates_per_call):
      state, metrics = trainer.update(state, next(stream))
    jax.block_until_ready(metrics)
    return n / (time.perf_counter() - t0)

  params = tree_param_count(jax.tree.map(lambda x: x[0], state.params))
  return Learner(run, updates_per_call), dict(num_seeds=num_seeds, params=params,
                                              batch_size=batch_size,
                                              gflops_per_update=flops / 1e9)


def row_of(info: dict, windows: Windows, peak: float, **fields) -> dict:
  """A result row: `info`, the windows' median updates/s and what follows from it."""
  ups = float(np.median(windows.rates))
  return dict(info, **fields, **windows.record(), updates_per_s=ups,
              samples_per_s=ups * info["batch_size"] * info["num_seeds"],
              gflops_per_s=info["gflops_per_update"] * ups,
              peak_fraction=info["gflops_per_update"] * ups / peak)


def side_by_side(ours: Learner, info: dict, peer: d3rlpy_peer.Peer | None,
                 peer_name: str, peak: float, **fields) -> dict:
  """Our row, with d3rlpy's rates and the ratio when `peer` is given (alternating
  windows; the peer's process is ended after)."""
  windows = alternate([ours] + ([Learner(peer, pids=(peer.pid,))] if peer else []),
                      F.repeats)
  if peer:
    peer.close()
  row = row_of(info, windows[0], peak, **fields)
  if peer:
    theirs = windows[1]
    busy = any(w.busy for w in windows)
    ratios = [o / t for o, t in zip(windows[0].rates, theirs.rates)]
    row["peer"] = dict(name=peer_name, **theirs.record(),
                       updates_per_s=float(np.median(theirs.rates)), busy=busy,
                       round_ratios=ratios, ratio=None if busy else float(np.median(ratios)))
  return row


def peer_text(row: dict) -> str:
  """' | <peer> r upd/s, ours/theirs n×' for a row with a peer (BUSY instead of
  the ratio on a busy machine), else ''."""
  p = row.get("peer")
  if not p:
    return ""
  ratio = "BUSY, no ratio" if p["busy"] else f"ours/theirs {p['ratio']:.2f}×"
  return f"  | {p['name']} {p['updates_per_s']:.1f} upd/s, {ratio}"


def read_episodes(source) -> list[dict]:
  """Every episode of `source` as numpy dicts (what d3rlpy's replay buffer is built from)."""
  ids = [p.policy_id for p in source.policies()]
  return list(source.episodes(ids).as_numpy_iterator())


def pybullet_rows(tmp: epath.Path, peak: float, peers: bool) -> dict:
  batch = F.batch_size or 256
  source = make_data(tmp / "data")
  episodes = read_episodes(source) if peers else None

  def ours(algo, hidden, seeds):
    config = imitation.default_config()
    config.algo, config.hidden = algo, hidden
    agent = imitation.make_agent(OBS_DIM, NUM_ACTIONS, config, 0.0, 1.0)
    stream = pipeline.default_config()
    stream.algo = algo
    return trainer_learner(source, agent, stream, batch, seeds, 50,
                           tmp / f"{algo}-{len(hidden)}x{hidden[0]}-{seeds}")

  rows = []
  for size in F.sizes:
    depth, width = (int(x) for x in size.split("x"))
    hidden = (width,) * depth
    for algo in F.algos:
      peer = (d3rlpy_peer.Peer("discrete_bc", episodes, tmp, obs_dim=OBS_DIM,
                               num_actions=NUM_ACTIONS, hidden=hidden, batch_size=batch)
              if peers and algo == "bc" else None)
      r = side_by_side(*ours(algo, hidden, 1), peer, "d3rlpy DiscreteBC", peak,
                       algo=algo, hidden=list(hidden))
      rows.append(r)
      print(f"{algo:4s} {size:>7s} {r['params']:>11,d} params {r['updates_per_s']:9.1f} upd/s "
            f"{r['samples_per_s']:10.0f} samples/s {r['peak_fraction']:6.1%} of peak"
            + peer_text(r), flush=True)
  (one, one_info), (many, many_info) = ours("bc", (109,), 1), ours("bc", (109,), F.num_seeds)
  windows = alternate([one, many], F.repeats)
  one, many = row_of(one_info, windows[0], peak), row_of(many_info, windows[1], peak)
  what = f"{F.num_seeds} vmapped seeds of a {one['params']:,}-param BC vs one"
  busy = any(w.busy for w in windows)
  ratio = None if busy else one["updates_per_s"] / many["updates_per_s"]
  print(busy_line(what) if busy else f"{what}: {ratio:.2f}× the wall time of one")
  return dict(rows=rows, vmap=dict(one=one, many=many, busy=busy, wall_time_ratio=ratio))


def atari_rows(tmp: epath.Path, peak: float, peers: bool) -> dict:
  batch = F.batch_size or 32
  config = atari_run.default_config("cql")
  source = atari_run.make_source(config)
  episodes = read_episodes(source) if peers and "nature" in F.torsos else None
  rows = []
  for torso in F.torsos:
    config.torso = "nature" if torso == "nature" else "impala"
    config.width_mult = 1.0 if torso == "nature" else float(torso)
    agent = cql.make_agent(atari_run.make_torso(config), ATARI_OBS, ATARI_ACTIONS,
                           config.agent)
    stream = config.stream.copy_and_resolve_references()
    stream.algo = "cql"
    peer = (d3rlpy_peer.Peer("discrete_cql", episodes, tmp, num_actions=ATARI_ACTIONS,
                             batch_size=batch, alpha=config.agent.alpha,
                             frame_stack=ATARI_OBS[-1])
            if episodes is not None and torso == "nature" else None)
    r = side_by_side(*trainer_learner(source, agent, stream, batch, 1,
                                      config.train.updates_per_call, tmp / f"cql-{torso}",
                                      unroll=config.train.unroll),
                     peer, "d3rlpy DiscreteCQL", peak, algo="cql", torso=torso)
    rows.append(r)
    print(f"cql {torso:>7s} {r['params']:>11,d} params {r['updates_per_s']:8.2f} upd/s "
          f"{r['gflops_per_update']:8.1f} GFLOP/update {r['peak_fraction']:6.1%} of peak"
          + peer_text(r), flush=True)
  return dict(rows=rows, stream=config.stream.to_dict())


def main(_):
  quiet()
  peers = F.peers and d3rlpy_peer.load() is not None
  peak = matmul_peak_gflops()
  raw_before = raw_env_rate()
  print(f"raw HopperBulletEnv {raw_before:,.0f} steps/s; "
        f"matmul peak: {peak:.0f} GFLOP/s ({jax.default_backend()}); d3rlpy "
        + ("timed beside ours" if peers else "not timed"
           + (" (not importable)" if F.peers else "")))
  with tempfile.TemporaryDirectory() as tmp:
    result = (pybullet_rows if F.domain == "pybullet" else atari_rows)(epath.Path(tmp), peak,
                                                                         peers)
  raw_after = raw_env_rate()
  print(f"raw HopperBulletEnv {raw_after:,.0f} steps/s after")
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  (out / f"learners_{F.domain}.json").write_text(json.dumps(dict(
      result, date=time.strftime("%Y-%m-%d"), machine=machine(),
      backend=jax.default_backend(), matmul_peak_gflops=peak,
      raw_hopper_steps_per_s=dict(before=raw_before, after=raw_after),
      window_s=F.window_s, repeats=F.repeats,
      peers=d3rlpy_peer.version() if peers else None), indent=1))


if __name__ == "__main__":
  app.run(main)
