"""Run a function right after a module is first imported.

Patching scikit-learn or configuring Keras at interpreter start would add seconds to every
Python process in the image (the Jupyter server, pip, shell tools). A meta-path finder that
waits for the first `import sklearn` keeps that cost where it is useful.
"""

from __future__ import annotations

import importlib.abc
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType

Hook = Callable[["ModuleType"], None]


class _HookedLoader(importlib.abc.Loader):
    """Delegates to the real loader, then runs the hook once the module is complete."""

    def __init__(self, loader: importlib.abc.Loader, hook: Hook, finder: AfterImportFinder):
        self._loader = loader
        self._hook = hook
        self._finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # Put the real loader back first: resource readers and reloads look it up.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._finder.forget(module.__name__)
        try:
            self._hook(module)
        except Exception as error:  # a tuning hook must never break the user's import
            warnings.warn(
                f"intel_notebook: could not tune {module.__name__}: {error}",
                RuntimeWarning,
                stacklevel=2,
            )


class AfterImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of the modules that have a pending hook."""

    def __init__(self) -> None:
        self._hooks: dict[str, Hook] = {}
        self._prefix_hooks: dict[str, Hook] = {}

    def register(self, name: str, hook: Hook) -> None:
        """Run `hook(module)` after the first import of the module `name`."""
        self._hooks[name] = hook

    def register_prefix(self, prefix: str, hook: Hook) -> None:
        """Run `hook(module)` after every import of a module named `prefix...`.

        Until forget_prefix(prefix).
        """
        self._prefix_hooks[prefix] = hook

    def forget(self, name: str) -> None:
        """Drop the hook of a module whose import has completed."""
        self._hooks.pop(name, None)

    def forget_prefix(self, prefix: str) -> None:
        """Stop running the hook registered for `prefix`."""
        self._prefix_hooks.pop(prefix, None)

    def _hook_for(self, fullname: str) -> Hook | None:
        hook = self._hooks.get(fullname)
        if hook is None:
            hook = next(
                (h for prefix, h in self._prefix_hooks.items() if fullname.startswith(prefix)),
                None,
            )
        return hook

    def find_spec(self, fullname, path=None, target=None):
        """The real spec of a hooked module, with its loader wrapped; None for the rest.

        The hook stays registered until the module really executes: a mere
        importlib.util.find_spec() probe must not use it up.
        """
        hook = self._hook_for(fullname)
        if hook is None:
            return None
        spec = _find_with_others(self, fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _HookedLoader(spec.loader, hook, self)
        return spec


def _find_with_others(skip: object, fullname: str, path, target) -> ModuleSpec | None:
    """The spec the rest of sys.meta_path would have produced."""
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if finder is skip or find_spec is None:
            continue
        spec = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _finder() -> AfterImportFinder:
    """The finder on sys.meta_path, inserted first on the first call."""
    finder = next((f for f in sys.meta_path if isinstance(f, AfterImportFinder)), None)
    if finder is None:
        finder = AfterImportFinder()
        sys.meta_path.insert(0, finder)
    return finder


def after_import(name: str, hook: Hook) -> None:
    """Call `hook(module)` when `name` is imported, or now if it already is."""
    module = sys.modules.get(name)
    if module is not None:
        hook(module)
        return
    _finder().register(name, hook)


def after_imports_under(prefix: str, hook: Hook) -> None:
    """Call `hook(module)` after each later import of a module named `prefix...`.

    For a decision that depends on which of a package's modules are loaded: the hook of the
    outermost import runs last, when the modules it imported are complete.
    """
    _finder().register_prefix(prefix, hook)


def stop_after_imports_under(prefix: str) -> None:
    """Undo after_imports_under(prefix)."""
    for finder in sys.meta_path:
        if isinstance(finder, AfterImportFinder):
            finder.forget_prefix(prefix)
