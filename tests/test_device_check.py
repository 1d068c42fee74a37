"""`benchmarks.device_check --tiny` runs on CPU without TensorFlow, environments,
pandas or matplotlib, skips MLP sizes that run out of memory, and writes every
figure it promises."""

import json
import math
import os
import subprocess
import sys

from conftest import REPO
from hidden_packages import hide

# Packages an accelerator image may lack; the check must not need them.
ABSENT = ("tensorflow", "pybullet", "pybullet_envs_gymnasium", "gymnasium", "ale_py", "pandas",
          "matplotlib")

# The script's main, run as `python -m benchmarks.device_check` runs it, on a
# device that cannot hold the 300M MLP (its agent raises XLA's out-of-memory error).
_RUN = r"""
import sys

import jax
from benchmarks import device_check
from experiments.common import run


def bc_agent(param_count, dtype, make=device_check.bc_agent):
  if param_count > 100_000_000:
    raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to "
                                     "allocate 4800000000 bytes.")
  return make(param_count, dtype)


device_check.bc_agent = bc_agent
sys.argv = ["device_check", "--tiny", "--mlp_params=300e6,30e3", "--out=" + OUT]
try:
  run(device_check.main)
except SystemExit as e:   # absl's app.run exits
  if e.code:
    raise
"""


def test_tiny_run_without_tensorflow_skips_sizes_out_of_memory(tmp_path):
  out = tmp_path / "device_check.json"
  # Unoptimised XLA:CPU code compiles several times faster (Impala's init: 8 s -> 1 s);
  # this test checks code paths and fields, not speed.
  env = dict(os.environ, XLA_FLAGS="--xla_backend_optimization_level=0")
  proc = subprocess.run([sys.executable, "-c", hide(*ABSENT) + f"OUT = {str(out)!r}\n" + _RUN],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  r = json.loads(out.read_text())
  assert r["tiny"] and r["backend"] == "cpu"

  def positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0

  assert all(positive(r["peak_tflops"][d]) for d in ("bfloat16", "float32"))
  rows = [r["mlp"]["bfloat16"], r["mlp"]["float32"], r["cql"], r["vmap"]["one"],
          r["vmap"]["many"]]
  for row in rows:
    for field in ("params", "updates_per_s", "seed_updates_per_s", "gflops_per_update",
                  "tflops_per_s", "mfu", "first_call_s"):
      assert positive(row[field]), (row["name"], field, row[field])
  for dtype in ("bfloat16", "float32"):
    mlp = r["mlp"][dtype]
    assert mlp["out_of_memory"] == [300_000_000] and 29_000 < mlp["params"] < 31_000
    assert mlp["name"] == f"BC MLP {mlp['depth']}×{mlp['width']}" and mlp["dtype"] == dtype
  assert r["vmap"]["many"]["num_seeds"] == 8 and r["vmap"]["one"]["num_seeds"] == 1
  assert positive(r["vmap"]["wall_time_ratio"]) and r["vmap"]["target_wall_time_ratio"] == 8
  assert [x["name"] for x in r["resident"]] == [r["cql"]["name"], r["vmap"]["one"]["name"]]
  assert all(positive(x["host_updates_per_s"]) and positive(x["speedup"]) for x in r["resident"])
  assert positive(r["total_s"])
  assert "MFU" in proc.stdout and "vmapped seeds" in proc.stdout
