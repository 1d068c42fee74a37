"""Environments: PyBullet locomotion with bang-bang actions; Atari with the Dopamine protocol."""

from offline_scaling.envs.atari import (ATARI_GAMES, atari_game_name, make_atari_env,
                                        make_stacked_atari_env)
from offline_scaling.envs.bang_bang import BangBangActions, index_to_signs, signs_to_index
from offline_scaling.envs.registry import PYBULLET_ENVS, canonical_name, make_env
from offline_scaling.envs.vector import make_vector_env

__all__ = ["ATARI_GAMES", "BangBangActions", "PYBULLET_ENVS", "atari_game_name",
           "canonical_name", "index_to_signs", "make_atari_env", "make_env", "make_stacked_atari_env", "make_vector_env",
           "signs_to_index"]
