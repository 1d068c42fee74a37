"""The training loop every offline agent uses.

* **Several updates per call:** one jitted call runs K = `updates_per_call`
  updates (`lax.scan`), with the old state's buffers donated; metrics come
  back to the host every `log_every` updates only.
* **Seeds are vmapped:** S = `num_seeds` independent models (own init, own
  rng) train in the same call, each on its own data: the stream delivers
  [S, K × B] transitions per call, seed s's in an order of its own
  (`data.pipeline`: each seed reads the whole selection in its own order, so
  the seeds are replicates independent in init and data order, and in
  one-pass mode every seed sees every sample exactly once).
* **Devices:** a `Mesh` with one `data` axis over all devices; batches are
  sharded on their batch axis, the state is replicated. B must divide by the
  device count. The same code runs on 1 CPU, several devices, GPUs or TPUs.
* **Processes:** in a multi-host run (`distributed.initialize`) the mesh spans
  every process's devices and each process's stream delivers its part of each
  batch, [S, K × B / process_count] transitions per call; the global batch is made
  from those parts. Training stops for all when any process's one-pass stream
  ends. Only process 0 writes logs and shows progress.
* **Checkpoints** (orbax, written by all processes together) every
  `checkpoint_every` updates and at the end: params, optimizer state, rng and
  step of every seed, plus each process's stream position. A killed run
  restarted with the same call continues from the last whole checkpoint and
  ends with the parameters of an uninterrupted run.
* **Logging:** `metrics.jsonl` and TensorBoard summaries in the run directory;
  a progress bar with updates/s and the last evaluation return.

Run directory layout: `checkpoints/<step>/`, `stream/<step>/` (`position`, or
`position-<i>-of-<n>` per process), `metrics.jsonl`, `tensorboard/`,
`evals.jsonl`. In a multi-host run it must be one directory every process
sees (a shared file system or `gs://`).
"""

from __future__ import annotations

import json
import time
from typing import Callable, Protocol

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from etils import epath
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from tqdm import tqdm

from offline_scaling.agents.base import Agent
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import checkpoints, distributed, runs
from offline_scaling.train.summaries import ScalarWriter


class Stream(Protocol):
  """What `Trainer.train` reads: an iterator of batches (dicts of numpy arrays
  [S, K × B / process_count, ...]: this process's transitions of one call,
  per seed) whose position can be saved and restored. `data.pipeline.Stream`
  is the tf.data one; any object with these methods (e.g. over in-memory
  arrays) trains as well."""

  def __next__(self) -> dict: ...

  def save(self, prefix: str) -> str:
    """Writes the position under the path prefix `prefix`; returns the path written."""
    ...

  def restore(self, prefix: str) -> None:
    """Moves the stream to the position `save(prefix)` wrote."""
    ...


def default_config() -> ml_collections.ConfigDict:
  """Loop settings: updates, batch per seed, seeds, updates per call, cadences."""
  c = ml_collections.ConfigDict()
  c.steps = 10_000            # updates per seed
  c.batch_size = 256          # per seed
  c.num_seeds = 1
  c.seed = 0
  c.updates_per_call = 50
  c.unroll = False            # unroll the K updates (XLA:CPU runs convs in loops ~7x slower)
  c.log_every = 500
  c.checkpoint_every = 5_000
  c.eval_every = 0            # 0: evaluate at the end only
  return c


def validate(config: ml_collections.ConfigDict, num_devices: int) -> None:
  """One message naming the field for any setting the loop cannot run with."""
  for field in ("steps", "batch_size", "num_seeds", "updates_per_call", "log_every",
                "checkpoint_every"):
    if not (isinstance(config[field], int) and config[field] >= 1):
      raise OfflineScalingError(f"{field}={config[field]!r} must be an integer >= 1")
  for field in ("seed", "eval_every"):
    if not (isinstance(config[field], int) and config[field] >= 0):
      raise OfflineScalingError(f"{field}={config[field]!r} must be an integer >= 0")
  if config.batch_size % num_devices:
    raise OfflineScalingError(
        f"batch_size={config.batch_size} is not divisible by the {num_devices} devices")
  K = config.updates_per_call
  for field in ("steps", "log_every", "checkpoint_every") + (("eval_every",)
                                                             if config.eval_every else ()):
    if config[field] % K:
      raise OfflineScalingError(
          f"{field}={config[field]} must be a multiple of updates_per_call={K}")


def stream_batch_size(config: ml_collections.ConfigDict, num_processes: int = 1) -> int:
  """Transitions per seed in a stream batch of one process: one call's worth,
  K × B, split evenly over `num_processes` (a stream batch is [S, that])."""
  return config.updates_per_call * config.batch_size // num_processes


class Trainer:
  """Trains `agent` on `stream` in `run_dir` (see the module docstring).

  Args:
    agent: the algorithm.
    config: `default_config()` or a variant.
    run_dir: where everything this run writes lives.
    evaluate: optional `evaluate(params_stacked, step) -> dict` of metrics;
      called every `eval_every` updates and at the end.
    mesh: defaults to all devices of all processes (`distributed.global_mesh`).
  """

  def __init__(self, agent: Agent, config: ml_collections.ConfigDict,
               run_dir: str | epath.Path,
               evaluate: Callable[[object, int], dict] | None = None,
               mesh: Mesh | None = None):
    self.agent, self.config, self.evaluate = agent, config, evaluate
    self.mesh = mesh or distributed.global_mesh()
    validate(config, self.mesh.size)
    self._host = distributed.host()
    self._primary = distributed.is_primary()
    self.run_dir = epath.Path(run_dir)
    self.run_dir.mkdir(parents=True, exist_ok=True)
    self._replicated = NamedSharding(self.mesh, P())
    self._batch_sharding = NamedSharding(self.mesh, P(None, None, "data"))   # [K, S, B]
    S, K = config.num_seeds, config.updates_per_call

    def init(rng):
      # lax.map, not vmap: a vmapped orthogonal init is a batched LAPACK QR, and
      # XLA:CPU deadlocks now and then when two of those run at once on a small
      # thread pool (reproduced on 2 cores: a hang within ~1,000 inits).
      return jax.lax.map(agent.init, jax.random.split(rng, S))

    def multi_update(state, batches):
      step = lambda st, b: jax.vmap(agent.update)(st, b)
      state, metrics = jax.lax.scan(step, state, batches, unroll=bool(config.unroll))
      return state, jax.tree.map(lambda m: m.mean(0), metrics)   # [S] per metric

    self._init = jax.jit(init, out_shardings=self._replicated)
    self._update = jax.jit(multi_update,
                           in_shardings=(self._replicated, self._batch_sharding),
                           out_shardings=(self._replicated, self._replicated),
                           donate_argnums=0)
    self._shape = (K, S, config.batch_size)
    self._local_shape = (S, K, config.batch_size // self._host[1])

  def init_state(self):
    """Fresh TrainStates of all seeds, stacked on a leading [S] axis."""
    return self._init(jax.random.PRNGKey(self.config.seed))

  def update(self, state, batch: dict):
    """One call (K updates of every seed) on this process's stream batch, or on
    `device_batch(batch)` of one, which is used where it lies (no host
    transfer). For benchmarks and notebooks."""
    if not all(isinstance(v, jax.Array) and v.sharding == self._batch_sharding
               for v in batch.values()):
      batch = self.device_batch(batch)
    return self._update(state, batch)

  def device_batch(self, batch: dict) -> dict:
    """This process's [S, K × B / process_count, ...] transitions -> the global
    [K, S, B, ...] batch on the devices, laid out as `update` reads it."""
    local = {k: np.swapaxes(v.reshape(self._local_shape + v.shape[2:]), 0, 1)
             for k, v in batch.items()}
    return distributed.global_batch(self._batch_sharding, local, self._shape)

  def _stream_prefix(self, step: int) -> str:
    """Where this process saves its stream position at `step`."""
    index, count = self._host
    name = "position" if count == 1 else f"position-{index}-of-{count}"
    return str(self.run_dir / "stream" / str(step) / name)

  def _log(self, name: str, record: dict, step: int, writer: ScalarWriter | None) -> None:
    """Appends record + step to `<run_dir>/<name>.jsonl` and its numbers to
    TensorBoard; process 0 only."""
    if not self._primary:
      return
    with (self.run_dir / f"{name}.jsonl").open("a") as f:
      f.write(json.dumps(dict(record, step=step)) + "\n")
    writer.write(step, {f"{name}/{k}": v for k, v in record.items()
                        if isinstance(v, (int, float))})

  def _checkpoint(self, mgr, step: int, state, metrics) -> None:
    """Saves `state` at `step` after checking it is finite (the stream's position
    at `step` must be saved already); keeps only the checkpoints' positions."""
    _check_finite(jax.device_get(metrics), step, mgr.latest_step(), self.run_dir, state.params)
    checkpoints.save(mgr, step, state, dict(step=step, num_processes=self._host[1]))
    if self._primary:
      _prune_stream_positions(self.run_dir, mgr.all_steps())

  def _logged_eval(self, step: int) -> dict | None:
    """The evaluation `evals.jsonl` holds for update `step` (without its step), if any."""
    path = self.run_dir / "evals.jsonl"
    if path.exists():
      for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.pop("step") == step:
          return record
    return None

  def _resume(self, mgr, stream: Stream):
    state = self.init_state()
    latest = checkpoints.restore_latest(mgr, state)
    step = 0
    if latest is not None:
      step, state, meta = latest
      saved_by = meta.get("num_processes", 1)
      if saved_by != self._host[1]:
        raise OfflineScalingError(
            f"{self.run_dir} was checkpointed by {saved_by} processes; its data streams' "
            f"positions are per process, so resume it with {saved_by}, not {self._host[1]}")
      stream.restore(self._stream_prefix(step))
    # Also with no checkpoint: a run killed before its first one may have logged.
    if self._primary:
      for name in ("metrics.jsonl", "evals.jsonl"):
        runs.truncate_jsonl(self.run_dir / name, "step", step)
    return jax.device_put(state, self._replicated), step

  def train(self, stream: Stream, progress: bool = True) -> tuple[object, dict]:
    """Runs to `config.steps` updates (or until a one-pass stream ends).

    Returns:
      (state with seeds on axis 0, summary dict: steps, samples_seen,
      data_exhausted, last metrics and last evaluation).
    """
    c = self.config
    K = c.updates_per_call
    mgr = checkpoints.manager(self.run_dir / "checkpoints", max_to_keep=2)
    state, step = self._resume(mgr, stream)
    writer = ScalarWriter(self.run_dir / "tensorboard") if self._primary else None
    summary = dict(steps=step, data_exhausted=False, metrics={}, eval={})

    def fetch():   # None once a one-pass stream cannot fill a whole call, on any process
      batch = next(stream, None)
      short = batch is None or (next(iter(batch.values())).shape[:2]
                                != (c.num_seeds, stream_batch_size(c, self._host[1])))
      return None if distributed.any_process(short) else self.device_batch(batch)

    batch = fetch() if step < c.steps else None
    bar = tqdm(total=c.steps, initial=step, unit="upd", disable=not (progress and self._primary),
               dynamic_ncols=True)
    t0, logged_step, last_eval, eval_step = time.perf_counter(), step, None, None
    while step < c.steps:
      if batch is None:
        summary["data_exhausted"] = True
        break
      state, metrics = self._update(state, batch)
      step += K
      checkpoint_due = step % c.checkpoint_every == 0 or step >= c.steps
      eval_due = self.evaluate and ((c.eval_every and step % c.eval_every == 0)
                                    or step >= c.steps)
      if checkpoint_due:
        stream.save(self._stream_prefix(step))
      batch = fetch() if step < c.steps else None   # overlaps the device's work
      if step % c.log_every == 0 or step >= c.steps:
        host = jax.device_get(metrics)
        _check_finite(host, step, mgr.latest_step(), self.run_dir)
        record = {k: float(np.mean(v)) for k, v in host.items()}
        now = time.perf_counter()
        record["updates_per_s"] = (step - logged_step) / max(now - t0, 1e-9)
        t0, logged_step = now, step
        self._log("metrics", record, step, writer)
        summary["metrics"] = record
        bar.set_postfix(loss=f"{record['loss']:.4g}", eval=last_eval)
      if eval_due:
        # Each process's own copy of the replicated params: evaluation plays on
        # this process's devices only (see `evaluation.evaluate_seeds`).
        ev = self.evaluate(jax.tree.map(lambda x: x.addressable_data(0), state.params), step)
        self._log("evals", ev, step, writer)
        summary["eval"], eval_step = ev, step
        last_eval = f"{ev.get('return_mean', float('nan')):.1f}"
        bar.set_postfix(eval=last_eval)
      if checkpoint_due:
        self._checkpoint(mgr, step, state, metrics)
      bar.update(K)
    bar.close()
    if summary["data_exhausted"] and step == 0:
      raise OfflineScalingError(
          f"the data stream of {self.run_dir} ended before the first update: it holds fewer "
          f"than one call's updates_per_call × batch_size = {K} × {c.batch_size} transitions "
          "per seed")
    if summary["data_exhausted"] and mgr.latest_step() != step:
      # A one-pass stream ended between checkpoints: keep the final parameters
      # (and the stream's end) so a resumed or re-evaluated run has them.
      stream.save(self._stream_prefix(step))
      self._checkpoint(mgr, step, state, metrics)
    if self.evaluate and eval_step != step:
      # The run ended where this call did not evaluate: its stream ran out
      # between evaluations, or it was killed after its last checkpoint and has
      # resumed at the end (then the evaluation it logged before the kill stands).
      ev = self._logged_eval(step)
      if ev is None:
        ev = self.evaluate(jax.tree.map(lambda x: x.addressable_data(0), state.params), step)
        self._log("evals", ev, step, writer)
      summary["eval"] = ev
    if writer:
      writer.close()
    mgr.close()
    summary["steps"] = step
    summary["samples_seen"] = step * c.batch_size   # per seed
    return state, summary


def _check_finite(metrics: dict, step: int, last_checkpoint: int | None, run_dir,
                  params=None) -> None:
  """Stops a diverged run: raises naming the update, every loss term and the
  last good checkpoint when a metric (per seed) or, if given, a parameter is NaN/Inf.

  Called at every log and before every checkpoint, so no checkpoint ever
  holds non-finite parameters.
  """
  bad = sorted(k for k, v in metrics.items() if not np.all(np.isfinite(v)))
  if params is not None and not bool(_all_finite(params)):
    bad.append("parameters")
  if bad:
    terms = {k: np.round(np.asarray(v, np.float64), 6).tolist() for k, v in metrics.items()}
    last = ("no checkpoint was written yet" if last_checkpoint is None else
            f"the last good checkpoint is step {last_checkpoint} in '{run_dir / 'checkpoints'}'")
    raise OfflineScalingError(
        f"training diverged by update {step}: non-finite {', '.join(bad)}; loss terms per "
        f"seed at update {step}: {terms}; {last}")


@jax.jit
def _all_finite(tree) -> jax.Array:
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _prune_stream_positions(run_dir: epath.Path, kept_steps) -> None:
  """Deletes stream positions of checkpoints orbax no longer keeps; newer ones may
  be another process's position for its next checkpoint, being written now."""
  root = run_dir / "stream"
  for d in root.iterdir() if root.exists() else ():
    if d.name.isdigit() and int(d.name) not in kept_steps and int(d.name) < max(kept_steps):
      d.rmtree()
