"""Broken Neural Scaling Laws: fit, extrapolate with a bootstrap band, plot.

Depends only on numpy and scipy (matplotlib for `plot_fit` and `log_count_axis`,
imported when they are called), so it serves any table of (x, y) points, not
only this library's.
"""

from offline_scaling.scaling.fit import BNSLFit
from offline_scaling.scaling.fit import fit_bnsl
from offline_scaling.scaling.model import BNSLParams
from offline_scaling.scaling.model import bnsl
from offline_scaling.scaling.plot import log_count_axis
from offline_scaling.scaling.plot import plot_fit
from offline_scaling.scaling.transform import rmsle
from offline_scaling.scaling.transform import symlog

__all__ = [
    "BNSLFit",
    "BNSLParams",
    "bnsl",
    "fit_bnsl",
    "log_count_axis",
    "plot_fit",
    "rmsle",
    "symlog",
]
