"""Data: episode shards, policy tables, expertise selection, tf.data streams."""

from offline_scaling import _tfp

_tfp.load_jax_substrate()  # before this package imports TensorFlow

import tensorflow as tf  # noqa: E402

# tf.data only: TensorFlow must never claim an accelerator that JAX needs.
tf.config.set_visible_devices([], "GPU")
