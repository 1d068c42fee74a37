import jax
import jax.numpy as jnp
import numpy as np
import pytest

from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets import minatar
from offline_scaling.nets.minatar import MinAtarCNN
from offline_scaling.nets.sizing import count_params
from offline_scaling.agents import dqn


def random_params(module, frames, seed):
  """Params of `module`'s layout with every leaf (biases included) drawn from N(0, 1).

  Drawn flat and reshaped: on XLA:CPU a 4-D `jax.random` draw (flax's conv
  init) costs seconds of compile time per shape; a flat one does not.
  """
  leaves, tree = jax.tree.flatten(jax.eval_shape(module.init, jax.random.PRNGKey(0), frames))
  keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
  return jax.tree.unflatten(tree, [jax.random.normal(k, (x.size,)).reshape(x.shape)
                                   for k, x in zip(keys, leaves)])


@pytest.mark.parametrize("width,in_channels,hidden", [(1, 4, 0), (0.5, 10, 0), (2, 7, 8)])
def test_patch_and_lax_convolutions_agree(width, in_channels, hidden):
  frames = jnp.asarray(np.random.default_rng(1).random((5, 10, 10, in_channels)) < 0.3)
  patch = MinAtarCNN(width, conv="patch", hidden=hidden)
  lax_ = MinAtarCNN(width, conv="lax", hidden=hidden)
  shapes = lambda net: jax.tree.map(jnp.shape, jax.eval_shape(net.init, jax.random.PRNGKey(0),
                                                                frames))
  # One layout (nn.Conv's kernel and bias): checkpoints are interchangeable.
  assert shapes(patch) == shapes(lax_)
  assert shapes(patch)["params"]["Conv_0"] == {"kernel": (3, 3, in_channels,
                                                          minatar.channels(width)),
                                               "bias": (minatar.channels(width),)}
  params = random_params(patch, frames, seed=2)
  for x in (frames, frames.astype(jnp.uint8)):                 # bool and uint8 frames
    a, b = jax.jit(patch.apply)(params, x), jax.jit(lax_.apply)(params, x)
    features = hidden * width if hidden else 100 * minatar.channels(width)
    assert a.shape == (5, features) and a.dtype == jnp.float32
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    assert (a > 0).any() and (a == 0).any()                     # ReLU features, not all clipped


def test_same_padding_sees_the_border():
  # One lit cell in a corner: with SAME padding the corner output exists and
  # the conv is the kernel's centre tap there (no VALID cropping to 8×8).
  frames = jnp.zeros((1, 10, 10, 1), jnp.uint8).at[0, 0, 0, 0].set(1)
  kernel = jnp.zeros((3, 3, 1, 1)).at[1, 1, 0, 0].set(2.0)
  params = {"params": {"Conv_0": {"kernel": kernel, "bias": jnp.zeros(1)}}}
  for conv in minatar.CONV_IMPLEMENTATIONS:
    out = MinAtarCNN(1 / 16, conv=conv).apply(params, frames).reshape(10, 10)   # one channel
    assert out[0, 0] == 2.0 and out.sum() == 2.0


def test_param_count_matches_the_network():
  for width, in_channels, hidden in [(0.25, 4, 0), (1, 10, 0), (3, 6, 0), (1, 7, 128),
                                     (0.5, 4, 16)]:
    frames = jax.ShapeDtypeStruct((1, 10, 10, in_channels), jnp.uint8)
    torso = MinAtarCNN(width, hidden=hidden)
    assert count_params(torso, frames) == minatar.param_count(width, in_channels, 0, hidden)
    q = dqn.QNetwork(torso, num_actions=6)
    assert count_params(q, frames) == minatar.param_count(width, in_channels, 6, hidden)


def test_widths_half_to_sixteen_span_one_and_a_half_orders():
  for in_channels in (4, 6, 7, 10):                             # the five games' channels
    counts = [minatar.param_count(w, in_channels, 6) for w in (0.5, 16)]
    assert np.log10(counts[1] / counts[0]) >= 1.5 - 1e-3


def test_bad_width_and_conv_are_refused():
  for width in (0.0, 0.01, -1, float("nan"), "2"):
    with pytest.raises(OfflineScalingError, match="width_mult"):
      minatar.channels(width)
  with pytest.raises(OfflineScalingError, match="conv='fft'"):
    MinAtarCNN(conv="fft").init(jax.random.PRNGKey(0), jnp.zeros((1, 10, 10, 4), jnp.uint8))


def test_bfloat16_compute_keeps_float32_params():
  frames = jnp.ones((2, 10, 10, 4), jnp.uint8)
  net = MinAtarCNN(1, dtype=jnp.bfloat16)
  shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), frames)
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(shapes))
  out = net.apply(random_params(net, frames, seed=0), frames)
  assert out.dtype == jnp.bfloat16 and out.shape == (2, 1600)
