"""Subprocess tests run as if some packages were not installed."""

# An import hook: `import <name>` fails for the hidden top-level packages (and
# their submodules) and `importlib.util.find_spec(name)` (how etils and others
# ask) is None. Not sys.modules[name] = None, which code that swaps sys.modules
# entries (offline_scaling._tfp does) could undo.
_HOOK = r"""
import importlib.abc
import sys


class WithoutPackages(importlib.abc.MetaPathFinder):
  # Finds what the finders it wraps find, except the hidden packages.

  def __init__(self, hidden, finders):
    self.hidden, self.finders = hidden, finders

  def find_spec(self, name, path=None, target=None):
    if name.split(".")[0] in self.hidden:
      return None
    for finder in self.finders:
      spec = finder.find_spec(name, path, target)
      if spec is not None:
        return spec
    return None


sys.meta_path[:] = [WithoutPackages(HIDDEN, list(sys.meta_path))]
"""


def hide(*packages: str) -> str:
  """Python source that, run first, hides the top-level `packages` from imports."""
  return f"HIDDEN = {set(packages)!r}\n" + _HOOK
