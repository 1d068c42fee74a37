"""Environments: PyBullet locomotion with bang-bang actions; Atari with the Dopamine protocol;
MinAtar (the `[minatar]` extra, imported only when a MinAtar env is built)."""

from offline_scaling.envs.atari import (ATARI_GAMES, atari_game_name, make_atari_env,
                                        make_stacked_atari_env)
from offline_scaling.envs.bang_bang import BangBangActions, index_to_signs, signs_to_index
from offline_scaling.envs.minatar import (MINATAR_GAMES, MinAtarEnv, make_minatar_env,
                                          minatar_game_name)
from offline_scaling.envs.registry import PYBULLET_ENVS, canonical_name, make_env
from offline_scaling.envs.vector import make_vector_env

__all__ = ["ATARI_GAMES", "BangBangActions", "MINATAR_GAMES", "MinAtarEnv", "PYBULLET_ENVS",
           "atari_game_name", "canonical_name", "index_to_signs", "make_atari_env", "make_env",
           "make_minatar_env", "make_stacked_atari_env", "make_vector_env", "minatar_game_name",
           "signs_to_index"]
