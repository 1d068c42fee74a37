"""Where Atari CQL's update time goes on this CPU (issue 16's profile).

    python -m benchmarks.cql_cpu                          # Nature CNN, batch 32
    python -m benchmarks.cql_cpu --torso=1                # Impala ×1
    XLA_FLAGS=--xla_cpu_... python -m benchmarks.cql_cpu  # the same under other XLA flags

On the configuration `train.atari_run` trains with (C51, dueling, 51 atoms,
3-step targets, 10 unrolled updates per call) and the locally generated Pong
data, one process measures:

  convs     ms per update of each Nature CNN convolution (forward; forward and
            gradients: the kernel's, and the input's but for the first layer,
            whose input is data), by XLA's convolution and by the same as a
            matrix product of patches (`patch_conv`), at 3·B images (the
            3 forward passes of an update)
  parts     ms per update of each piece, jitted alone on one batch kept on the
            device: the torso's forward (on obs), the network's (torso + C51
            head), the loss (3 forwards: online on obs and next_obs, target
            on next_obs; the C51 projection and cross-entropy; the penalty),
            the loss with its gradient, and the whole update (+ Adam, target copy)
  resident  the Trainer's updates/s on one batch kept on the device (no pipeline)
  stream    the CQL stream alone: transitions/s, and CPU-seconds per transition
  fed       the Trainer's updates/s on the stream (the learner as it trains),
            with the CPU time of each group of threads (XLA's, tf.data's, the
            Python thread) per update, read from /proc

Medians of `repeats` windows of about `window_s` seconds. Writes
`<out>/cql_cpu.json` and prints a table.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from etils import epath

from benchmarks.common import ATARI_ACTIONS, ATARI_OBS, machine, matmul_peak_gflops, quiet
from offline_scaling.agents import cql
from offline_scaling.data import pipeline
from offline_scaling.nets.conv import patch_conv
from offline_scaling.train import atari_run, loop

flags.DEFINE_string("torso", "nature", "'nature' or an Impala width multiplier")
flags.DEFINE_integer("batch_size", 32, "transitions per update")
flags.DEFINE_float("window_s", 3.0, "seconds per timed window")
flags.DEFINE_integer("repeats", 3, "timed windows per measurement (median reported)")
flags.DEFINE_string("out", "benchmarks/out", "output directory")
F = flags.FLAGS


def thread_cpu_s() -> dict[str, float]:
  """CPU-seconds (user + system) used so far by this process's threads, summed
  by thread name with digits dropped (e.g. 'tf_data_private_threadpool');
  {} where /proc is not there."""
  tick = os.sysconf("SC_CLK_TCK")
  out = collections.Counter()
  try:
    tasks = os.listdir("/proc/self/task")
  except OSError:
    return {}
  for tid in tasks:
    try:
      with open(f"/proc/self/task/{tid}/stat") as f:
        stat = f.read()
    except OSError:
      continue  # the thread ended
    name = stat[stat.index("(") + 1:stat.rindex(")")].rstrip("0123456789-_/ ")
    fields = stat[stat.rindex(")") + 2:].split()
    out[name] += (int(fields[11]) + int(fields[12])) / tick   # utime, stime
  return dict(out)


def per_call_rate(fn: Callable[[], object], calls: int) -> float:
  """Calls/s of `fn` over `calls` calls (the last result waited for)."""
  t0 = time.perf_counter()
  for _ in range(calls):
    out = fn()
  jax.block_until_ready(out)
  return calls / (time.perf_counter() - t0)


def median_rate(fn: Callable[[], object]) -> float:
  """Median calls/s of `fn` over `repeats` windows of about `window_s`, after a
  warm-up call (compilation) and a calibration window."""
  jax.block_until_ready(fn())
  calls = max(1, round(F.window_s * per_call_rate(fn, 3)))
  return float(np.median([per_call_rate(fn, calls) for _ in range(F.repeats)]))


NATURE_CONVS = (((84, 84, 4), 8, 4, 32), ((20, 20, 32), 4, 2, 64), ((9, 9, 64), 3, 1, 64))


def convs(images: int) -> dict[str, dict[str, float]]:
  """ms of each Nature CNN convolution on `images` images (see the module docstring)."""
  out = {}
  for layer, (shape, k, s, o) in enumerate(NATURE_CONVS):
    x = jax.random.normal(jax.random.PRNGKey(0), (images, *shape))
    w = jax.random.normal(jax.random.PRNGKey(1), (k, k, shape[-1], o)) * 0.05
    for name, fn in (("xla", jax.lax.conv_general_dilated), ("matmul", patch_conv)):
      conv = lambda x, w, fn=fn: fn(x, w, (s, s), "VALID", dimension_numbers=("NHWC", "HWIO",
                                                                                "NHWC"))
      forward = jax.jit(conv)
      grads = jax.jit(jax.grad(lambda x, w, conv=conv: jnp.sum(conv(x, w) ** 2),
                               argnums=(1,) if layer == 0 else (0, 1)))
      out[f"conv{layer + 1} {k}x{k}/{s} {name}"] = dict(
          forward=1e3 / median_rate(lambda: forward(x, w)),
          forward_and_gradients=1e3 / median_rate(lambda: grads(x, w)))
  return out


def parts(agent, net, state, batch: dict) -> dict[str, float]:
  """ms per update of each piece (see the module docstring), batch on the device."""
  params, target = state.params, state.target_params
  key = jax.random.PRNGKey(0)
  torso = jax.jit(lambda p, x: net.torso.apply({"params": p["params"]["torso"]}, x))
  forward = jax.jit(net.apply)
  loss = jax.jit(lambda p: agent.loss(p, batch, key, target)[0])
  grad = jax.jit(jax.value_and_grad(lambda p: agent.loss(p, batch, key, target)[0]))
  update = jax.jit(agent.update)
  pieces = {"torso forward (obs)": lambda: torso(params, batch["obs"]),
            "network forward (obs)": lambda: forward(params, batch["obs"]),
            "loss (3 forwards + C51 + penalty)": lambda: loss(params),
            "loss + gradient": lambda: grad(params),
            "update (+ Adam, target copy)": lambda: update(state, batch)}
  return {name: 1e3 / median_rate(fn) for name, fn in pieces.items()}


def timed_stream(stream, seconds: float) -> tuple[float, int, dict]:
  """(batches/s, batches, CPU-seconds per thread group) of the batches drawn
  from `stream` in about `seconds`."""
  cpu0, t0, n = thread_cpu_s(), time.perf_counter(), 0
  while time.perf_counter() - t0 < seconds:
    next(stream)
    n += 1
  rate = n / (time.perf_counter() - t0)
  return rate, n, cpu_delta(cpu0, thread_cpu_s())


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
  """CPU-seconds per thread group between two `thread_cpu_s` readings (> 0 only)."""
  delta = {k: v - before.get(k, 0.0) for k, v in after.items()}
  return {k: v for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v > 0.005}


def main(_):
  quiet()
  peak = matmul_peak_gflops()
  config = atari_run.default_config("cql")
  config.torso = "nature" if F.torso == "nature" else "impala"
  config.width_mult = 1.0 if F.torso == "nature" else float(F.torso)
  B, K = F.batch_size, config.train.updates_per_call
  torso = atari_run.make_torso(config)
  net = cql.C51Network(torso, ATARI_ACTIONS, config.agent.num_atoms, config.agent.head_hidden)
  agent = cql.make_agent(torso, ATARI_OBS, ATARI_ACTIONS, config.agent)
  source = atari_run.make_source(config, log=lambda _: None)
  stream_config = config.stream.copy_and_resolve_references()
  stream_config.update(algo="cql", batch_size=K * B)
  stream = pipeline.make_stream(source, [p.policy_id for p in source.policies()], stream_config)

  one = {k: v[0, :B] for k, v in next(stream).items()}
  state = agent.init(jax.random.PRNGKey(0))
  result = dict(convs_ms=convs(3 * B) if F.torso == "nature" else {},
                parts_ms=parts(agent, net, state, jax.device_put(one)))

  train = loop.default_config()
  train.update(batch_size=B, updates_per_call=K, unroll=config.train.unroll, log_every=K,
               steps=10 ** 9, checkpoint_every=10 ** 9)
  workdir = tempfile.TemporaryDirectory()
  trainer = loop.Trainer(agent, train, workdir.name)
  states = [trainer.init_state()]
  resident = trainer.device_batch(next(stream))

  def call(batch):
    states[0], metrics = trainer.update(states[0], batch)
    return metrics

  result["resident_updates_per_s"] = K * median_rate(lambda: call(resident))
  stream_rates, fed_rates, stream_cpu, fed_cpu = [], [], [], []
  calls = max(1, round(F.window_s * result["resident_updates_per_s"] / K))
  for _ in range(F.repeats):
    rate, n, cpu = timed_stream(stream, F.window_s)
    stream_rates.append(rate * K * B)
    stream_cpu.append({k: v / (n * K * B) for k, v in cpu.items()})
    cpu0 = thread_cpu_s()
    fed_rates.append(K * per_call_rate(lambda: call(next(stream)), calls))
    fed_cpu.append({k: v / (calls * K) for k, v in cpu_delta(cpu0, thread_cpu_s()).items()})
  i, j = int(np.argsort(stream_rates)[len(stream_rates) // 2]), int(
      np.argsort(fed_rates)[len(fed_rates) // 2])
  result.update(stream_transitions_per_s=stream_rates[i],
                stream_cpu_s_per_transition=stream_cpu[i],
                fed_updates_per_s=fed_rates[j], fed_cpu_s_per_update=fed_cpu[j],
                stream_windows=stream_rates, fed_windows=fed_rates)

  print(f"CQL {F.torso}, batch {B}, {K} updates per call; matmul peak {peak:.0f} GFLOP/s; "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
  for name, ms in result["convs_ms"].items():
    print(f"  {name:36s} {ms['forward']:8.2f} ms forward {ms['forward_and_gradients']:8.2f} ms "
          "with gradients")
  for name, ms in result["parts_ms"].items():
    print(f"  {name:36s} {ms:8.2f} ms")
  print(f"  {'resident batch (Trainer)':36s} {result['resident_updates_per_s']:8.2f} upd/s")
  print(f"  {'stream alone':36s} {result['stream_transitions_per_s']:8.0f} transitions/s")
  print(f"  {'fed by the stream (Trainer)':36s} {result['fed_updates_per_s']:8.2f} upd/s")
  for name, s in result["stream_cpu_s_per_transition"].items():
    print(f"    stream alone, CPU {name:17s} {1e6 * s:8.1f} µs per transition")
  for name, s in result["fed_cpu_s_per_update"].items():
    print(f"    CPU {name:30s} {1e3 * s:8.1f} ms per update")
  workdir.cleanup()
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  (out / "cql_cpu.json").write_text(json.dumps(dict(
      result, torso=F.torso, batch_size=B, updates_per_call=K, date=time.strftime("%Y-%m-%d"),
      machine=machine(), matmul_peak_gflops=peak, xla_flags=os.environ.get("XLA_FLAGS", "")),
      indent=1))


if __name__ == "__main__":
  app.run(main)
