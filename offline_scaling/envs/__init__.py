"""Environments: PyBullet locomotion with bang-bang actions."""

from offline_scaling.envs.bang_bang import BangBangActions, index_to_signs, signs_to_index
from offline_scaling.envs.registry import PYBULLET_ENVS, canonical_name, make_env
from offline_scaling.envs.vector import make_vector_env

__all__ = ["BangBangActions", "PYBULLET_ENVS", "canonical_name", "index_to_signs",
           "make_env", "make_vector_env", "signs_to_index"]
