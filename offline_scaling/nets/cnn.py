"""Atari torsos: the 15-layer Impala ResNet (with a width multiplier) and DQN's Nature CNN.

Both take uint8 frames [B, 84, 84, S] (S stacked frames), scale them to [0, 1]
and return features [B, F].
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp


class ResidualBlock(nn.Module):
  channels: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    y = nn.Conv(self.channels, (3, 3), dtype=self.dtype)(nn.relu(x))
    y = nn.Conv(self.channels, (3, 3), dtype=self.dtype)(nn.relu(y))
    return x + y


class ImpalaCNN(nn.Module):
  """Three stacks of conv 3×3 → max-pool 3×3/2 → two residual blocks, channels
  (16, 32, 32) × width_mult, then ReLU and a dense layer of 512 × width_mult.

  15 layers: 3 × (1 conv + 2 blocks × 2 convs) = 15 convolutions.
  """
  width_mult: float = 1.0
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, frames):
    x = frames.astype(self.dtype) / 255.0
    for channels in (16, 32, 32):
      c = int(round(channels * self.width_mult))
      x = nn.Conv(c, (3, 3), dtype=self.dtype)(x)
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
      x = ResidualBlock(c, self.dtype)(x)
      x = ResidualBlock(c, self.dtype)(x)
    x = nn.relu(x).reshape(x.shape[0], -1)
    return nn.relu(nn.Dense(int(round(512 * self.width_mult)), dtype=self.dtype)(x))


class NatureCNN(nn.Module):
  """DQN's encoder (Mnih et al., 2015): conv 32 8×8/4, 64 4×4/2, 64 3×3/1, dense 512."""
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, frames):
    x = frames.astype(self.dtype) / 255.0
    for channels, kernel, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
      x = nn.relu(nn.Conv(channels, (kernel, kernel), (stride, stride), padding="VALID",
                          dtype=self.dtype)(x))
    return nn.relu(nn.Dense(512, dtype=self.dtype)(x.reshape(x.shape[0], -1)))
