"""A convolution as one matrix product of image patches.

XLA:CPU runs `lax.conv_general_dilated` inside `lax.scan` several times slower
than outside it; gathering the kh·kw shifted copies of the input and
multiplying by the reshaped kernel avoids the convolution altogether, which
is faster at small shapes (MinAtar's 3×3 on 10×10: about 3.5× per update,
`nets.minatar`; `benchmarks.cql_cpu` times it at Atari's shapes).
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
from jax import lax


def patch_conv(lhs, rhs, window_strides: Sequence[int], padding,
               lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
               feature_group_count: int = 1, precision=None):
  """`lax.conv_general_dilated` of images [B, H, W, C] by a kernel [kh, kw, C, O]
  (flax's NHWC / HWIO layout) as patches [B, H', W', kh·kw·C] @ kernel [kh·kw·C, O].

  A drop-in `conv_general_dilated` for `nn.Conv` (its arguments, as `nn.Conv`
  passes them); dilations and feature groups are refused. Patch element
  (i, j, c) is the padded input at (y·sh + i, x·sw + j, c), the kernel's
  row-major order, so the reshaped kernel lines up with it.

  Returns:
    [B, H', W', O], H' = (H + pads − kh) // sh + 1 (likewise W').
  """
  if any(d not in (None, 1) for d in (*(lhs_dilation or ()), *(rhs_dilation or ()))) or (
      feature_group_count != 1):
    raise NotImplementedError("patch_conv: no dilation or feature groups")
  del dimension_numbers  # flax's NHWC / HWIO
  kh, kw, c, o = rhs.shape
  sh, sw = window_strides
  if isinstance(padding, str):
    padding = lax.padtype_to_pads(lhs.shape[1:3], (kh, kw), window_strides, padding)
  x = jnp.pad(lhs, ((0, 0), tuple(padding[0]), tuple(padding[1]), (0, 0)))
  b, h, w, _ = x.shape
  ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
  patches = jnp.concatenate(
      [lax.slice(x, (0, i, j, 0), (b, i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1, c),
                 (1, sh, sw, 1)) for i in range(kh) for j in range(kw)], -1)
  return lax.dot_general(patches, rhs.reshape(kh * kw * c, o), (((3,), (0,)), ((), ())),
                         precision=precision)
