"""TensorBoard scalars without TensorFlow, through the `tensorboard` package's own event writer.

The training loop must run where JAX is installed and TensorFlow is not;
TensorBoard reads these event files as it reads `tf.summary.scalar`'s. Paths
go through TensorFlow's gfile when TensorFlow is installed (so `gs://` works),
else through TensorBoard's local stand-in.
"""

from __future__ import annotations

import os
import time

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


class ScalarWriter:
  """Appends scalars to an event file in `logdir` (created if missing)."""

  def __init__(self, logdir: str | os.PathLike):
    self._writer = EventFileWriter(os.fspath(logdir))

  def write(self, step: int, scalars: dict[str, float]) -> None:
    """Logs each `tag: value` of `scalars` at `step`."""
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)
                                         for tag, value in scalars.items()])
    self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

  def close(self) -> None:
    """Flushes the pending events and closes the file."""
    self._writer.close()
