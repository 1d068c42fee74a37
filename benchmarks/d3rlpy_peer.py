"""d3rlpy's discrete learners as peers of ours, timed in `benchmarks.learners`.

d3rlpy (PyTorch) is never a dependency of the library: install it beside the
project for this benchmark (docs/performance.md says how). Nothing here
imports it at module level; `load()` is None where it is not importable, and
`benchmarks.learners` then times our learners alone.

A peer runs in its own process (`Peer`, which starts
`python -m benchmarks.d3rlpy_peer`): in the process that runs JAX and
TensorFlow, PyTorch's updates took 2-3× as long as alone (their thread pools
contend), which would flatter ours.

One d3rlpy update, timed as its own `fit` loop runs it:
`buffer.sample_transition_batch(B)` (uniform sampling of B transitions from
its in-memory replay buffer, built once from the same episodes ours reads;
Atari frames are stacked at sampling time by its `FrameStackTransitionPicker`,
as its Atari datasets do) then `algo.update(batch)` (numpy to torch,
observation scaling, forward, backward, Adam step, target sync). Eager
PyTorch (`compile_graph=False`, d3rlpy's default) with `torch` using every
core of the machine, as XLA does.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from typing import Callable, Iterable, Sequence

import numpy as np


def load():
  """The `d3rlpy` module, or None when it (or PyTorch) is not importable."""
  try:
    import d3rlpy  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  import structlog  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
  torch.set_num_threads(os.cpu_count())
  return d3rlpy


def version() -> dict:
  """d3rlpy's and PyTorch's versions and PyTorch's intra-op threads (call after `load`)."""
  import d3rlpy  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  return dict(d3rlpy=d3rlpy.__version__, torch=torch.__version__,
              torch_threads=torch.get_num_threads())


def _episode(d3rlpy, ep: dict, frame_axis: bool):
  """One of our episode dicts -> a d3rlpy `Episode` with the same transitions.

  Ours: observations [L+1, ...] (o_0 … o_L), actions [L], rewards [L],
  discounts [L] (0 after a terminal step). d3rlpy keeps one observation per
  step: an episode that ended in a terminal state has L (its last transition
  bootstraps from zeros), one cut by a time limit L+1 with a padding action
  and reward (its last observation only serves as the last next observation).
  `frame_axis` adds d3rlpy's channel axis to single frames ([N, 1, 84, 84]).
  """
  terminated = bool(ep["discounts"][-1] == 0.0)
  obs = ep["observations"][:len(ep["actions"])] if terminated else ep["observations"]
  pad = len(obs) - len(ep["actions"])
  actions = np.pad(ep["actions"], (0, pad)).astype(np.int64)[:, None]
  rewards = np.pad(ep["rewards"], (0, pad)).astype(np.float32)[:, None]
  return d3rlpy.dataset.Episode(observations=obs[:, None] if frame_axis else obs,
                                actions=actions, rewards=rewards, terminated=terminated)


def _timed_updates(algo, buffer, batch_size: int) -> Callable[[int], float]:
  """run(n): n sample-then-update steps of d3rlpy's fit loop; returns updates/s."""
  def run(n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
      algo.update(buffer.sample_transition_batch(batch_size))
    return n / (time.perf_counter() - t0)
  return run


def discrete_bc(episodes: Iterable[dict], obs_dim: int, num_actions: int,
                hidden: Sequence[int], batch_size: int) -> Callable[[int], float]:
  """d3rlpy `DiscreteBC` on an MLP of `hidden` ReLU layers (its `VectorEncoder`)
  and a linear head over `num_actions`; `run(n)` as in `_timed_updates`.

  Args:
    episodes: our episode dicts with observations [L+1, obs_dim] float32.
    obs_dim: observation size.
    num_actions: discrete actions.
    hidden: hidden widths, e.g. (256,) * 4.
    batch_size: transitions per update.
  """
  d3rlpy = load()
  buffer = d3rlpy.dataset.create_infinite_replay_buffer(
      episodes=[_episode(d3rlpy, ep, frame_axis=False) for ep in episodes])
  algo = d3rlpy.algos.DiscreteBCConfig(
      batch_size=batch_size,
      encoder_factory=d3rlpy.models.VectorEncoderFactory(hidden_units=list(hidden)),
  ).create(device="cpu:0")
  algo.create_impl((obs_dim,), num_actions)
  return _timed_updates(algo, buffer, batch_size)


def discrete_cql(episodes: Iterable[dict], num_actions: int, batch_size: int, alpha: float,
                 frame_stack: int = 4) -> Callable[[int], float]:
  """d3rlpy `DiscreteCQL` (double DQN + α·(logsumexp Q − Q(a_data))) on its
  default pixel encoder, the Nature CNN (32 8×8/4, 64 4×4/2, 64 3×3/1, dense
  512), with its default Q head (one value per action: lighter than our C51
  head of 51 atoms per action and its projection); pixels scaled by 1/255,
  Adam and target period as ours. `run(n)` as in `_timed_updates`.

  (d3rlpy's distributional head, quantile regression, was not used: with
  51 quantiles and two torch threads on a loaded 2-core machine its update
  took 1.15 s against 0.13 s on one thread, a slowdown no user would keep.)

  Args:
    episodes: our episode dicts with uint8 frames [L+1, 84, 84].
    num_actions: discrete actions.
    batch_size: transitions per update.
    alpha: the conservative penalty's weight.
    frame_stack: frames stacked per observation ([frame_stack, 84, 84]).
  """
  d3rlpy = load()
  eps = [_episode(d3rlpy, ep, frame_axis=True) for ep in episodes]
  buffer = d3rlpy.dataset.create_infinite_replay_buffer(
      episodes=eps, transition_picker=d3rlpy.dataset.FrameStackTransitionPicker(frame_stack))
  algo = d3rlpy.algos.DiscreteCQLConfig(
      batch_size=batch_size, alpha=alpha, learning_rate=6.25e-5,
      optim_factory=d3rlpy.optimizers.AdamFactory(eps=1.5e-4),
      observation_scaler=d3rlpy.preprocessing.PixelObservationScaler(),
      target_update_interval=2_000,
  ).create(device="cpu:0")
  algo.create_impl((frame_stack, *eps[0].observations.shape[2:]), num_actions)
  return _timed_updates(algo, buffer, batch_size)


FIELDS = ("observations", "actions", "rewards", "discounts")


class Peer:
  """A d3rlpy learner in its own process; `peer(n)` runs n updates there and
  returns their updates/s.

  Args:
    kind: "discrete_bc" or "discrete_cql" (the builder of this module).
    episodes: our episode dicts (written to `workdir` for the peer to read).
    workdir: a directory for the episodes file.
    **kwargs: the builder's other arguments.
  """

  def __init__(self, kind: str, episodes: Sequence[dict], workdir: str, **kwargs):
    path = os.path.join(workdir, f"{kind}_episodes.npz")
    np.savez(path, **{f"{i}/{k}": ep[k] for i, ep in enumerate(episodes) for k in FIELDS})
    self._proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.d3rlpy_peer", kind, path, json.dumps(kwargs)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if self._proc.stdout.readline().strip() != "ready":
      raise RuntimeError(f"the d3rlpy peer ({kind}) did not start")

  @property
  def pid(self) -> int:
    """The peer process's id (its CPU is the peer's work, not others' load)."""
    return self._proc.pid

  def __call__(self, n: int) -> float:
    self._proc.stdin.write(f"{n}\n")
    self._proc.stdin.flush()
    return float(self._proc.stdout.readline())

  def close(self) -> None:
    """Ends the peer's process."""
    self._proc.stdin.close()
    self._proc.wait()


def _serve(kind: str, path: str, kwargs: str) -> None:
  """The peer's process: builds the learner, then runs the updates asked on stdin."""
  data = np.load(path)
  count = len({k.split("/")[0] for k in data.files})
  episodes = [{k: data[f"{i}/{k}"] for k in FIELDS} for i in range(count)]
  run = {"discrete_bc": discrete_bc, "discrete_cql": discrete_cql}[kind](
      episodes, **json.loads(kwargs))
  print("ready", flush=True)
  for line in sys.stdin:
    print(run(int(line)), flush=True)


if __name__ == "__main__":
  if len(sys.argv) != 4:
    sys.exit("benchmarks.d3rlpy_peer is started by benchmarks.learners (a peer process), "
             "not by hand: run `python -m benchmarks.learners`")
  load()
  _serve(*sys.argv[1:])
