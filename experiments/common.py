"""What every launch script shares: quiet logs and one-line errors."""

from __future__ import annotations

import sys
from typing import Callable

from absl import app, logging

from offline_scaling.errors import OfflineScalingError


def run(main: Callable[[list[str]], None]) -> None:
  """`absl.app.run(main)`, printing an `OfflineScalingError` as one line (exit 1)."""
  def wrapped(argv):
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    try:
      main(argv)
    except OfflineScalingError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(1)
  app.run(wrapped)
