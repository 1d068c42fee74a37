"""The accelerator check: FLOP utilisation and throughput of the learners, in one run.

    python -m benchmarks.device_check            # on one GPU/TPU, under 8 minutes
    python -m benchmarks.device_check --tiny     # the same code paths on CPU, in seconds

Needs JAX, Flax, optax, chex, orbax-checkpoint and the few small packages
listed in docs/performance.md; no TensorFlow, no environments (batches are
synthetic and live in memory). Every measurement trains through the real `Trainer`
(several updates per jitted call, `lax.scan`) on batches already on the
device, and times calls for about `--budget_s` seconds after compilation:

1. **peak**: the matmul peak of this device in bfloat16 and float32 (a
   jitted n × n product, JAX's default precision), the denominator of MFU.
2. **mlp**: BC on the largest MLP (aspect ratio 256) of `--mlp_params`
   that fits in device memory, in bfloat16 and in float32 compute. MFU =
   XLA's FLOP count of one update × updates/s over the peak of that dtype.
3. **cql**: CQL on C51 with an Impala ×6 torso in bfloat16, batch 32 of
   84×84×4 uint8 frames with 3-step targets: updates/s and MFU.
4. **vmap**: 8 vmapped seeds of a 10K-parameter BC against one. Target: at
   most 2× the wall time on an accelerator; on CPU, no loss (8 seeds give at
   least one seed's seed-updates/s, i.e. at most 8× the wall time).
5. **resident**: updates/s of the CQL and the one-seed 10K BC with batches
   resident on the device against a host batch transferred every call.

`--tiny` runs every measurement at toy sizes (a 30K MLP, CQL on Impala ×0.25
in float32 at batch 4, 8 vs 1 seeds of a 1K model, 0.3 s each). Writes `--out`
(JSON) and prints a table.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags
from etils import epath

from benchmarks.common import (ATARI_ACTIONS, ATARI_OBS, NUM_ACTIONS, OBS_DIM, machine,
                               matmul_peak_gflops, update_flops)
from experiments.common import run
from offline_scaling.agents import cql, imitation
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets.cnn import ImpalaCNN
from offline_scaling.nets.sizing import mlp_for_param_count, tree_param_count
from offline_scaling.train import loop

NUM_SEEDS = 8
N_STEP, GAMMA = 3, 0.99  # Atari's CQL stream: 3-step targets (data.pipeline defaults)
TERMINAL_FRACTION = 0.1  # of synthetic CQL transitions (discount 0)


@dataclasses.dataclass(frozen=True)
class Sizes:
  """What each measurement runs.

  Attributes:
    matmul_n: side of the square matmul that measures the peak.
    mlp_params: BC MLP parameter counts tried, largest first, until one fits.
    mlp_batch: BC batch per update.
    impala_width: Impala width multiplier of the CQL torso.
    cql_dtype: CQL's compute dtype.
    cql_batch: CQL batch per update.
    vmap_params: parameters of the BC model of the vmap check.
    updates_per_call: updates per jitted call (MLP and CQL).
    vmap_updates_per_call: updates per jitted call of the small vmap models.
    budget_s: timed seconds per measurement, after compilation.
  """
  matmul_n: int
  mlp_params: tuple[int, ...]
  mlp_batch: int
  impala_width: float
  cql_dtype: str
  cql_batch: int
  vmap_params: int
  updates_per_call: int
  vmap_updates_per_call: int
  budget_s: float


DEVICE = Sizes(matmul_n=16384, mlp_params=(300_000_000, 200_000_000, 100_000_000, 30_000_000,
                                           10_000_000),
               mlp_batch=256, impala_width=6.0, cql_dtype="bfloat16", cql_batch=32,
               vmap_params=10_000, updates_per_call=10, vmap_updates_per_call=50, budget_s=20.0)
# CQL in float32 here: XLA:CPU takes ~40 s to compile its bfloat16 convolutions.
TINY = Sizes(matmul_n=256, mlp_params=(30_000,), mlp_batch=64, impala_width=0.25,
             cql_dtype="float32", cql_batch=4, vmap_params=1_000, updates_per_call=2,
             vmap_updates_per_call=10, budget_s=0.3)

flags.DEFINE_bool("tiny", False, "tiny sizes and budgets: the same code paths on CPU in seconds")
flags.DEFINE_list("mlp_params", None, "BC MLP parameter counts to try, largest first "
                  "(default 300M, 200M, 100M, 30M, 10M; --tiny: 30K)")
flags.DEFINE_float("budget_s", None, "timed seconds per measurement (default 20; --tiny: 0.3)")
flags.DEFINE_string("out", "benchmarks/out/device_check.json", "JSON written here")
F = flags.FLAGS


def time_calls(call: Callable[[], object], budget_s: float, windows: int = 3
               ) -> tuple[float, float]:
  """(calls/s, first call's seconds) of `call`: the median over `windows` timed
  windows that together last about `budget_s`; the first call (compilation)
  and a sizing call are not timed. `call` returns what to block on."""
  t0 = time.perf_counter()
  jax.block_until_ready(call())
  first_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  jax.block_until_ready(call())
  calls = max(1, int(budget_s / windows / (time.perf_counter() - t0)))
  rates = []
  for _ in range(windows):
    t0 = time.perf_counter()
    for _ in range(calls):
      out = call()
    jax.block_until_ready(out)
    rates.append(calls / (time.perf_counter() - t0))
  return float(np.median(rates)), first_s


def measure(agent, batch: dict, batch_size: int, num_seeds: int, updates_per_call: int,
            budget_s: float, workdir: epath.Path, peak_gflops: float,
            host_too: bool = False) -> dict:
  """Updates/s (per seed) of `agent` through the `Trainer` on `batch` resident
  on the device, XLA's GFLOP per update, MFU (model FLOP/s over `peak_gflops`)
  and the first call's seconds (compilation included).

  Args:
    batch: one seed's stream batch (numpy, updates_per_call × batch_size
      rows); every seed is fed a copy (the speed does not depend on the values).
    host_too: also time the same calls fed `batch` from the host every call
      (`host_updates_per_s`).
  """
  K = updates_per_call
  config = loop.default_config()
  config.update(steps=K, batch_size=batch_size, num_seeds=num_seeds, updates_per_call=K,
                log_every=K, checkpoint_every=K)
  trainer = loop.Trainer(agent, config, workdir)
  state = trainer.init_state()
  batch = {k: np.stack([v] * num_seeds) for k, v in batch.items()}   # [S, K × B, ...]
  flops = update_flops(agent, state, batch, batch_size)
  params = tree_param_count(jax.tree.map(lambda x: x[0], state.params))

  def timed(fed):
    def call():
      nonlocal state
      state, metrics = trainer.update(state, fed)
      return metrics
    calls_per_s, first_s = time_calls(call, budget_s)
    return calls_per_s * K, first_s

  ups, first_call_s = timed(trainer.device_batch(batch))
  gflops_per_s = flops * ups * num_seeds / 1e9
  row = dict(params=params, batch_size=batch_size, num_seeds=num_seeds, updates_per_call=K,
             updates_per_s=ups, seed_updates_per_s=ups * num_seeds,
             gflops_per_update=flops / 1e9, tflops_per_s=gflops_per_s / 1e3,
             mfu=gflops_per_s / peak_gflops, first_call_s=first_call_s)
  if host_too:
    row["host_updates_per_s"] = timed(batch)[0]
  return row


def bc_batch(rows: int, rng: np.random.Generator) -> dict:
  """A BC stream batch of `rows` HalfCheetah-sized transitions (obs 26, 64 actions)."""
  return dict(obs=rng.normal(size=(rows, OBS_DIM)).astype(np.float32),
              action=rng.integers(0, NUM_ACTIONS, rows).astype(np.int32))


def cql_batch(rows: int, rng: np.random.Generator) -> dict:
  """A CQL stream batch of `rows` Atari transitions: uint8 frame stacks and 3-step targets."""
  frames = lambda: rng.integers(0, 256, (rows, *ATARI_OBS), dtype=np.uint8)
  terminal = rng.random(rows) < TERMINAL_FRACTION
  return dict(obs=frames(), action=rng.integers(0, ATARI_ACTIONS, rows).astype(np.int32),
              reward=rng.normal(size=rows).astype(np.float32),
              discount=np.where(terminal, 0.0, GAMMA ** N_STEP).astype(np.float32),
              next_obs=frames())


def bc_agent(param_count: int, dtype: str):
  """BC on an aspect-ratio-256 MLP of about `param_count` parameters."""
  config = imitation.default_config()
  config.update(param_count=param_count, compute_dtype=dtype)
  return imitation.make_agent(OBS_DIM, NUM_ACTIONS, config)


def largest_mlp(sizes: Sizes, dtype: str, peak_gflops: float, workdir: epath.Path) -> dict:
  """BC at the first of `sizes.mlp_params` (largest first) that fits in device memory."""
  batch = bc_batch(sizes.updates_per_call * sizes.mlp_batch, np.random.default_rng(0))
  out_of_memory = []
  for target in sizes.mlp_params:
    try:
      row = measure(bc_agent(target, dtype), batch, sizes.mlp_batch, 1, sizes.updates_per_call,
                    sizes.budget_s, workdir / f"mlp-{dtype}-{target}", peak_gflops)
    except jax.errors.JaxRuntimeError as e:
      if "RESOURCE_EXHAUSTED" not in str(e):
        raise
      out_of_memory.append(target)
      continue
    depth, width = mlp_for_param_count(target, OBS_DIM, NUM_ACTIONS)
    return dict(row, name=f"BC MLP {depth}×{width}", dtype=dtype, depth=depth, width=width,
                out_of_memory=out_of_memory)
  raise OfflineScalingError(f"no MLP of --mlp_params={','.join(map(str, sizes.mlp_params))} "
                            f"fits in the device's memory in {dtype}; add smaller sizes")


def run_cql(sizes: Sizes, peak_gflops: float, workdir: epath.Path) -> dict:
  """CQL (C51, dueling) on an Impala torso; host-fed calls timed too."""
  torso = ImpalaCNN(sizes.impala_width, jnp.dtype(sizes.cql_dtype))
  agent = cql.make_agent(torso, ATARI_OBS, ATARI_ACTIONS, cql.default_config())
  batch = cql_batch(sizes.updates_per_call * sizes.cql_batch, np.random.default_rng(1))
  row = measure(agent, batch, sizes.cql_batch, 1, sizes.updates_per_call, sizes.budget_s,
                workdir / "cql", peak_gflops, host_too=True)
  return dict(row, name=f"CQL Impala ×{sizes.impala_width:g}", dtype=sizes.cql_dtype)


def run_vmap(sizes: Sizes, peak_gflops: float, workdir: epath.Path) -> dict:
  """NUM_SEEDS vmapped seeds of a small BC against one (the one also host-fed)."""
  K = sizes.vmap_updates_per_call
  batch = bc_batch(K * sizes.mlp_batch, np.random.default_rng(2))
  agent = bc_agent(sizes.vmap_params, "float32")
  one, many = (dict(measure(agent, batch, sizes.mlp_batch, seeds, K, sizes.budget_s,
                            workdir / f"vmap-{seeds}", peak_gflops, host_too=seeds == 1),
                    name=f"BC {seeds} seed{'s' * (seeds > 1)}", dtype="float32")
               for seeds in (1, NUM_SEEDS))
  ratio = one["updates_per_s"] / many["updates_per_s"]
  target = 2.0 if jax.default_backend() != "cpu" else float(NUM_SEEDS)
  return dict(one=one, many=many, wall_time_ratio=ratio, target_wall_time_ratio=target,
              meets_target=ratio <= target)


def resident(*rows: dict) -> list[dict]:
  """Updates/s with batches resident on the device vs transferred from the host each call."""
  return [dict(name=r["name"], device_updates_per_s=r["updates_per_s"],
               host_updates_per_s=r["host_updates_per_s"],
               speedup=r["updates_per_s"] / r["host_updates_per_s"]) for r in rows]


def print_table(result: dict) -> None:
  """The measurements, one row each, then the vmap and residency lines."""
  peak = result["peak_tflops"]
  print(f"{jax.devices()[0].device_kind} ({result['backend']}); matmul peak "
        f"{peak['bfloat16']:.3g} TFLOP/s bf16, {peak['float32']:.3g} TFLOP/s f32")
  print(f"{'measurement':24s} {'dtype':8s} {'params':>12s} {'batch':>5s} {'seeds':>5s} "
        f"{'upd/s':>9s} {'GFLOP/upd':>10s} {'TFLOP/s':>8s} {'MFU':>6s}")
  v = result["vmap"]
  for r in (*result["mlp"].values(), result["cql"], v["one"], v["many"]):
    print(f"{r['name']:24s} {r['dtype']:8s} {r['params']:12,d} {r['batch_size']:5d} "
          f"{r['num_seeds']:5d} {r['updates_per_s']:9.1f} {r['gflops_per_update']:10.4g} "
          f"{r['tflops_per_s']:8.4g} {r['mfu']:6.1%}")
  print(f"{NUM_SEEDS} vmapped seeds of a {v['one']['params']:,}-param BC take "
        f"{v['wall_time_ratio']:.2f}× the wall time of one (target ≤ "
        f"{v['target_wall_time_ratio']:g}×: {'met' if v['meets_target'] else 'NOT met'})")
  for r in result["resident"]:
    print(f"{r['name']}: {r['device_updates_per_s']:.1f} upd/s with batches on the device, "
          f"{r['host_updates_per_s']:.1f} fed from the host ({r['speedup']:.2f}×)")
  print(f"total {result['total_s']:.0f} s")


def settings() -> Sizes:
  """The preset (`--tiny` or the device's) with the flags' overrides."""
  sizes = TINY if F.tiny else DEVICE
  if F.mlp_params:
    try:
      counts = sorted((int(float(p)) for p in F.mlp_params), reverse=True)
    except ValueError:
      counts = []
    if not counts or counts[-1] < 1_000:
      raise OfflineScalingError(f"--mlp_params={','.join(F.mlp_params)} must be parameter "
                                "counts >= 1000, e.g. 300e6,100e6")
    sizes = dataclasses.replace(sizes, mlp_params=tuple(counts))
  if F.budget_s is not None:
    if not F.budget_s > 0:
      raise OfflineScalingError(f"--budget_s={F.budget_s} must be > 0")
    sizes = dataclasses.replace(sizes, budget_s=F.budget_s)
  return sizes


def main(_):
  start = time.perf_counter()
  sizes = settings()
  peak = {dtype: matmul_peak_gflops(sizes.matmul_n, dtype=jnp.dtype(dtype))
          for dtype in ("bfloat16", "float32")}
  with tempfile.TemporaryDirectory() as tmp:
    workdir = epath.Path(tmp)
    mlp = {dtype: largest_mlp(sizes, dtype, peak[dtype], workdir)
           for dtype in ("bfloat16", "float32")}
    cql_row = run_cql(sizes, peak[sizes.cql_dtype], workdir)
    vmap = run_vmap(sizes, peak["float32"], workdir)
  result = dict(machine=machine(), backend=jax.default_backend(),
                device=jax.devices()[0].device_kind, tiny=F.tiny, sizes=dataclasses.asdict(sizes),
                peak_tflops={k: v / 1e3 for k, v in peak.items()}, mlp=mlp, cql=cql_row,
                vmap=vmap, resident=resident(cql_row, vmap["one"]),
                total_s=time.perf_counter() - start)
  print_table(result)
  out = epath.Path(F.out)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
  run(main)
