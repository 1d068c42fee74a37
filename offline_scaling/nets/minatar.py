"""MinAtar torsos: the one-convolution CNN of MinAtar's DQN, scaled by a width multiplier.

`MinAtarCNN(width_mult)` maps frames [B, 10, 10, C] (uint8 or bool, values in
{0, 1}: MinAtar's object channels, used as they are, not divided by 255) to
features [B, F]:

    conv 3×3, stride 1, SAME padding, round(16 · width_mult) channels → ReLU → flatten

so F = 100 · round(16 · width_mult). At width 1 this is the network Dopamine's
`MinatarDQNNetwork` is written as, without its output layer (the Q head,
`Dense(actions)`, belongs to the agent), with its Xavier-uniform kernels and
zero biases (for how Dopamine applies it, see below). The
MinAtar reference DQN (Young & Tian, 2019) instead uses VALID padding and an FC
128 + ReLU before its output; `hidden=128` adds that layer (round(128 ·
width_mult) units), giving the reference's shape with Dopamine's padding.

One difference from Dopamine is deliberate. Dopamine applies its network to a
single state of shape [10, 10, C, 1] (the stack axis of size 1 last), which
flax's `nn.Conv` reads as a batch of 10 rows of [10, C] images with one input
feature: its 3×3 kernel [3, 3, 1, 16] slides over (column, channel), not over
the 10×10 grid, and its Dense layer sees 100 · C · 16 features. Here the
kernel is [3, 3, C, O] over the grid, as in the MinAtar reference.

**Sizes.** Without `hidden` the count grows linearly with the width
(`param_count`): (9C + 1)·O conv parameters and (100·O + 1)·A head parameters,
O = round(16 · width_mult). Width multipliers 0.5 … 16 (8 … 256 channels) span
32× in parameters (1.5 orders of magnitude: 5.1K … 163K with a 6-action head
on 4 channels, 5.5K … 177K on Seaquest's 10); 0.25 … 16 span 64× (1.8
orders). With `hidden` the FC layer makes the count quadratic in the width,
so 0.5 … 16 span 3 orders (`hidden=128`, 4 channels: 52K … 52.5M).

**Two ways to convolve.** `conv="lax"` is `nn.Conv` as it is
(`lax.conv_general_dilated`). `conv="patch"` computes the same convolution as
one matrix product (`patch_conv`): the 9 shifted copies of the padded input
are concatenated into patches [B, 10, 10, 9C] and multiplied by the kernel
reshaped to [9C, O]. XLA:CPU runs small convolutions inside `lax.scan` several
times slower than matrix products: a DQN update (`agents.dqn`, width 1, 4
channels, batch 32, 200 updates in one scan, 2-core CPU) took 0.7–1.1 ms
with "patch" against 3.2–3.7 ms with "lax" (`benchmarks/cql_cpu.py` measures
the same effect on the Atari torsos). Both forms use the same `nn.Conv`
parameters (kernel [3, 3, C, O], bias [O]), so a checkpoint of one loads into
the other and gives the same outputs to float rounding.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets.conv import patch_conv

BASE_CHANNELS = 16   # Dopamine's and MinAtar's conv width at width_mult 1
GRID = 10            # MinAtar frames are GRID × GRID
KERNEL = 3
CONV_IMPLEMENTATIONS = ("patch", "lax")


def channels(width_mult: float) -> int:
  """Conv channels O = round(16 · width_mult) of the torso at `width_mult`.

  Raises:
    OfflineScalingError: if width_mult is not a finite number giving O >= 1.
  """
  if not (isinstance(width_mult, (int, float)) and not isinstance(width_mult, bool)
          and math.isfinite(width_mult) and round(BASE_CHANNELS * width_mult) >= 1):
    raise OfflineScalingError(
        f"MinAtar CNN width_mult={width_mult!r} must be a number >= {0.5 / BASE_CHANNELS} "
        f"(at least one channel of {BASE_CHANNELS} × width_mult)")
  return round(BASE_CHANNELS * width_mult)


def param_count(width_mult: float, in_channels: int, num_actions: int, hidden: int = 0) -> int:
  """Exact parameter count of `MinAtarCNN(width_mult, hidden=hidden)` on
  [B, 10, 10, in_channels] frames under a linear head of `num_actions`
  outputs (DQN's Q network; `num_actions=0` counts the torso alone).

  Examples:
    >>> [param_count(w, 4, 6) for w in (0.5, 1, 2, 4, 8, 16)]   # Breakout, Asterix
    [5102, 10198, 20390, 40774, 81542, 163078]
    >>> param_count(1, 4, 0), param_count(1, 4, 6, hidden=128)
    (592, 206294)
  """
  out = channels(width_mult)
  count = (KERNEL * KERNEL * in_channels + 1) * out
  features = GRID * GRID * out
  if hidden:
    units = max(1, round(hidden * width_mult))
    count += (features + 1) * units
    features = units
  return count + (features + 1) * num_actions if num_actions else count


class MinAtarCNN(nn.Module):
  """Frames [B, 10, 10, C] (uint8/bool) -> ReLU features [B, F] (module docstring).

  Attributes:
    width_mult: conv channels = round(16 · width_mult).
    dtype: compute dtype (parameters stay float32).
    conv: "patch" (a matrix product; faster on CPU) or "lax" (`nn.Conv`'s
      convolution); same parameters, same outputs.
    hidden: 0 for Dopamine's torso (F = 100 · channels); else a ReLU FC layer
      of round(hidden · width_mult) units after the conv (F = that).
  """
  width_mult: float = 1.0
  dtype: jnp.dtype = jnp.float32
  conv: str = "patch"
  hidden: int = 0

  @nn.compact
  def __call__(self, frames):
    if self.conv not in CONV_IMPLEMENTATIONS:
      raise OfflineScalingError(
          f"MinAtar CNN conv={self.conv!r} must be one of {CONV_IMPLEMENTATIONS}")
    init = nn.initializers.xavier_uniform()
    x = frames.astype(self.dtype)
    x = nn.Conv(channels(self.width_mult), (KERNEL, KERNEL), padding="SAME",
                kernel_init=init, dtype=self.dtype,
                conv_general_dilated=patch_conv if self.conv == "patch" else None)(x)
    x = nn.relu(x).reshape(x.shape[0], -1)
    if self.hidden:
      x = nn.relu(nn.Dense(max(1, round(self.hidden * self.width_mult)), kernel_init=init,
                           dtype=self.dtype)(x))
    return x
