"""Game names as users type them: any case, with or without '_' or '-'."""

from __future__ import annotations

from typing import Mapping

from offline_scaling.errors import OfflineScalingError


def lookup_game(name: str, games: Mapping[str, str], family: str) -> str:
  """The CamelCase name in `games` (lower-case key without '_'/'-' -> name) of `name`.

  Raises:
    OfflineScalingError: for an unknown name, naming the `family` ('Atari',
      'MinAtar') and listing the known games.
  """
  key = name.strip().lower().replace("_", "").replace("-", "")
  if key not in games:
    raise OfflineScalingError(
        f"unknown {family} game {name!r}; known games: {', '.join(games.values())}")
  return games[key]
