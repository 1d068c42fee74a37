"""The online DQN's replay memory: a circular buffer of single frames, in host numpy.

Slot i holds one transition's (o_t, a_t, r_t, terminal_t): the observation
the action was taken at, the action, the (clipped) reward that followed and
whether the action ended the game. The next observation o_{t+1} is the next
slot's, as in Dopamine's `OutOfGraphReplayBuffer`, so each frame is stored
once (a 100,000-transition MinAtar memory is 40–100 MB of uint8). A slot can
be sampled when its successor is known: it is terminal (o_{t+1} is never
used: discount 0), or the next slot holds o_{t+1} of the same episode. The
newest transition of an unfinished episode and one cut by a time limit are
not sampled. (The newest slot's successor is the oldest slot, never its
episode's next frame, so overwriting never leaves a stale successor.)

Everything lives in numpy arrays (`arrays()` / `from_arrays()` save and
restore it whole), so a resumed run samples exactly as the uninterrupted one.
"""

from __future__ import annotations

import numpy as np

from offline_scaling.errors import OfflineScalingError


class ReplayBuffer:
  """A circular buffer of `capacity` transitions of `obs_shape` uint8 frames.

  Args:
    capacity: transitions kept (the oldest are overwritten).
    obs_shape: one observation's shape, e.g. (10, 10, 4).
  """

  def __init__(self, capacity: int, obs_shape: tuple[int, ...]):
    if capacity < 2:
      raise OfflineScalingError(f"replay capacity {capacity} must be at least 2")
    self.capacity = capacity
    self.obs = np.zeros((capacity, *obs_shape), np.uint8)
    self.action = np.zeros(capacity, np.int32)
    self.reward = np.zeros(capacity, np.float32)
    self.terminal = np.zeros(capacity, bool)
    # Whether slot i + 1 holds o_{t+1} of slot i's episode (or slot i is terminal).
    self.has_next = np.zeros(capacity, bool)
    self.add_count = 0

  @property
  def size(self) -> int:
    """Transitions stored (at most `capacity`)."""
    return min(self.add_count, self.capacity)

  def add(self, obs: np.ndarray, action: int, reward: float, terminal: bool,
          continues: bool) -> None:
    """Stores (o_t, a_t, r_t, terminal_t).

    Args:
      continues: whether this transition follows the previous one in the same
        episode (so the previous slot's successor is now known).
    """
    i = self.add_count % self.capacity
    prev = (i - 1) % self.capacity
    if continues and self.add_count:
      self.has_next[prev] = True
    self.obs[i] = obs
    self.action[i] = action
    self.reward[i] = reward
    self.terminal[i] = terminal
    self.has_next[i] = terminal
    self.add_count += 1

  def sample(self, rng: np.random.Generator, batch_size: int) -> dict[str, np.ndarray]:
    """A uniform batch of sampleable transitions.

    Returns:
      obs uint8 [B, *obs], action int32 [B], reward float32 [B], discount
      float32 [B] (0 after a terminal step, else 1), next_obs uint8 [B, *obs]
      (zeros after a terminal step).

    Raises:
      OfflineScalingError: when no transition can be sampled yet.
    """
    size = self.size
    if not self.has_next[:size].any():
      raise OfflineScalingError("the replay memory holds no complete transition to sample")
    idx = rng.integers(0, size, batch_size)
    bad = ~self.has_next[idx]
    while bad.any():  # rejection: a handful of slots per memory cannot be sampled
      idx[bad] = rng.integers(0, size, int(bad.sum()))
      bad = ~self.has_next[idx]
    terminal = self.terminal[idx]
    next_obs = self.obs[(idx + 1) % self.capacity]
    next_obs[terminal] = 0
    return dict(obs=self.obs[idx], action=self.action[idx], reward=self.reward[idx],
                discount=(~terminal).astype(np.float32), next_obs=next_obs)

  def arrays(self) -> dict[str, np.ndarray]:
    """The whole memory as named arrays (for a resume file)."""
    return dict(obs=self.obs, action=self.action, reward=self.reward, terminal=self.terminal,
                has_next=self.has_next, add_count=np.int64(self.add_count))

  @classmethod
  def from_arrays(cls, arrays) -> "ReplayBuffer":
    """The memory `arrays()` gave (any mapping of those names to arrays)."""
    obs = np.asarray(arrays["obs"])
    buffer = cls(obs.shape[0], obs.shape[1:])
    for name in ("obs", "action", "reward", "terminal", "has_next"):
      getattr(buffer, name)[...] = arrays[name]
    buffer.add_count = int(arrays["add_count"])
    return buffer
