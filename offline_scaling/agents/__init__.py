"""Agents: bundles of pure functions (init, loss, update, act) per algorithm."""

from offline_scaling import _tfp

_tfp.load_jax_substrate()  # before distrax imports it, in case TensorFlow is loaded
