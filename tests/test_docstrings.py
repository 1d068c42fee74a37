"""The public API is documented: every public name has a docstring, and the
examples in docstrings run (doctest)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import offline_scaling


def public_modules():
  """Every module of the package whose dotted path has no part starting with '_'."""
  names = ["offline_scaling"] + [
      m.name for m in pkgutil.walk_packages(offline_scaling.__path__, "offline_scaling.")
      if not any(part.startswith("_") for part in m.name.split("."))]
  return [importlib.import_module(n) for n in names]


def public_objects(module):
  """(qualified name, object) of the public functions and classes defined in `module`,
  and of the public methods and properties defined in those classes."""
  for name, obj in vars(module).items():
    if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
      continue
    if obj.__module__ != module.__name__:
      continue  # imported from elsewhere: checked where it is defined
    yield f"{module.__name__}.{name}", obj
    if inspect.isclass(obj):
      for attr, member in vars(obj).items():
        if attr.startswith("_"):
          continue
        member = getattr(member, "__func__", member)             # static/class methods
        member = member.fget if isinstance(member, property) else member
        if inspect.isfunction(member):
          yield f"{module.__name__}.{name}.{attr}", member


def test_every_public_name_has_a_docstring():
  modules = public_modules()
  assert len(modules) > 30
  missing = [m.__name__ for m in modules if not (m.__doc__ or "").strip()]
  checked = 0
  for module in modules:
    for qualname, obj in public_objects(module):
      checked += 1
      # getdoc inherits: an override of a documented base-class method passes.
      if not (inspect.getdoc(obj) or "").strip():
        missing.append(qualname)
  assert checked > 150
  assert not missing, "public names without a docstring:\n" + "\n".join(missing)


def test_docstring_examples_run():
  finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(
      optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
  examples = {}
  for module in public_modules():
    for test in finder.find(module, module.__name__):
      if test.examples:
        runner.run(test)
        examples[test.name] = len(test.examples)
  results = runner.summarize(verbose=False)
  assert results.failed == 0, f"{results.failed} docstring examples failed (output above)"
  # The cheap examples the docs rely on are still there.
  for name in ("offline_scaling.envs.bang_bang.index_to_signs",
               "offline_scaling.data.expertise.select_policies",
               "offline_scaling.nets.return_embedding.square_wave_embedding",
               "offline_scaling.train.runs.run_id"):
    assert examples.get(name), f"{name} lost its docstring examples"
