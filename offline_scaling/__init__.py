"""offline_scaling: how far scale carries offline RL trained on sub-optimal experts."""

# distrax (under rlax and our policies) loads TensorFlow Probability's JAX
# substrate; when TensorFlow was imported first, TFP then demands tf-keras (and
# with it a second TensorFlow). Loading the substrate before TensorFlow avoids that.
import tensorflow_probability.substrates.jax  # noqa: F401

from offline_scaling.errors import OfflineScalingError

__all__ = ["OfflineScalingError"]
__version__ = "0.1.0"
