"""In-memory batches with the stream interface of `loop.Trainer.train` (no TensorFlow)."""

import pathlib


class MemoryStream:
  """Yields `batches` once, in order; its position saves to and restores from a file."""

  def __init__(self, batches):
    self.batches, self.read = batches, 0

  def __iter__(self):
    return self

  def __next__(self):
    if self.read == len(self.batches):
      raise StopIteration
    self.read += 1
    return self.batches[self.read - 1]

  def save(self, prefix):
    pathlib.Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(prefix).write_text(str(self.read))
    return prefix

  def restore(self, path):
    self.read = int(pathlib.Path(path).read_text())
