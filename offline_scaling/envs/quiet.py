"""Silencing what simulators print from C, which `contextlib.redirect_stdout` cannot catch.

PyBullet writes `pybullet build time: ...` to file descriptor 2 when it is
imported and `argv[0]=` to file descriptor 1 each time an env connects its
physics client (on the env's first reset): hundreds of lines in a study's
output. `make_env` imports PyBullet inside `silenced(2)` and wraps every env in
`QuietFirstReset`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Iterator

import gymnasium as gym


def _flush_all() -> None:
  """Flushes Python's and C's stdio buffers, so output lands on the fd it was meant for."""
  for stream in (sys.stdout, sys.stderr):
    if stream is not None:
      stream.flush()
  ctypes.CDLL(None).fflush(None)  # fflush(NULL) flushes every C output stream


@contextlib.contextmanager
def silenced(fd: int) -> Iterator[None]:
  """Points file descriptor `fd` (1 = stdout, 2 = stderr) at /dev/null for the block.

  Anything written to `fd` inside the block, by Python or by native code, is
  dropped; the descriptor is restored on exit, also when the block raises.
  """
  _flush_all()
  saved = os.dup(fd)
  try:
    with open(os.devnull, "wb") as null:
      os.dup2(null.fileno(), fd)
    yield
  finally:
    _flush_all()
    os.dup2(saved, fd)
    os.close(saved)


class QuietFirstReset(gym.Wrapper):
  """Runs the wrapped env's first `reset` with stdout (fd 1) silenced.

  Later resets run as they are: the silence lasts only as long as the one call
  in which a PyBullet env connects its physics client and prints `argv[0]=`.
  """

  def __init__(self, env: gym.Env):
    super().__init__(env)
    self._first = True

  def reset(self, *, seed: int | None = None, options: dict | None = None):
    if self._first:
      self._first = False
      with silenced(1):
        return self.env.reset(seed=seed, options=options)
    return self.env.reset(seed=seed, options=options)
