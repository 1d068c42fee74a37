"""offline_scaling: how far scale carries offline RL trained on sub-optimal experts."""

from offline_scaling.errors import OfflineScalingError

__all__ = ["OfflineScalingError"]
__version__ = "0.1.0"
