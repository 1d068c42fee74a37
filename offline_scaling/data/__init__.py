"""Data: episode shards, policy tables, expertise selection, tf.data streams."""

from offline_scaling import _tfp

_tfp.load_jax_substrate()  # before this package imports TensorFlow
