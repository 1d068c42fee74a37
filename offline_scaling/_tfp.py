"""Loads TensorFlow Probability's JAX substrate safely, whatever was imported before.

distrax (under rlax and our policies) imports TFP's JAX substrate. If
TensorFlow is already loaded at that moment (we use it for tf.data, and users
import it in notebooks), TFP insists on tf-keras, which would pull in a second,
GPU-enabled TensorFlow. TFP decides that by looking for `tensorflow` in
`sys.modules`, so we hide it for the duration of the import; the JAX substrate
itself never touches TensorFlow.
"""

import sys


def load_jax_substrate() -> None:
  if "tensorflow_probability.substrates.jax" in sys.modules:
    return
  tf = sys.modules.pop("tensorflow", None)
  try:
    import tensorflow_probability.substrates.jax  # noqa: F401
  finally:
    if tf is not None:
      sys.modules["tensorflow"] = tf
