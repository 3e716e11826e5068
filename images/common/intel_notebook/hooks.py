"""Run a function right after a module is first imported.

Patching scikit-learn or configuring Keras at interpreter start would add seconds to every
Python process in the image (the Jupyter server, pip, shell tools). A meta-path finder that
waits for the first `import sklearn` keeps that cost where it is useful.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from importlib.machinery import ModuleSpec

# typing costs 6 ms at every interpreter start; type checkers treat this name as True.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

Hook = Callable[["ModuleType"], None]


class _HookedSpec(ModuleSpec):
    """A module's own spec that runs the hook once the import system marks the module complete.

    CPython's Lib/importlib/_bootstrap.py, `_load_unlocked`, sets `spec._initializing = True`
    before the loader executes the module and back to False in a `finally` once it has returned:
    the module is then complete in sys.modules, or removed from it if it raised. Noticing that
    assignment keeps the real loader in place and adds no frame while the module runs. A loader
    wrapper did: its exec_module stays on the stack under everything the module imports, and in
    CPython (3.11 here) one frame more can move deep imports onto the boundary of a frame-stack
    chunk, where every call that crosses it maps and unmaps a chunk (python/cpython issue
    142183). That cost `import xgboost`, through its ~157 scikit-learn modules, 14,000 more
    mmap/munmap pairs and 0.1-0.2 s of CPU.
    """

    _hook: Hook
    _finder: AfterImportFinder

    @classmethod
    def adopt(cls, spec: ModuleSpec, hook: Hook, finder: AfterImportFinder) -> None:
        """Make the finders' plain spec run `hook`; the import system uses it unchanged."""
        spec.__class__ = cls
        object.__setattr__(spec, "_hook", hook)
        object.__setattr__(spec, "_finder", finder)

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name == "_initializing" and not value:
            self._complete()

    def _complete(self) -> None:
        hook, finder = self._hook, self._finder
        object.__setattr__(self, "__class__", ModuleSpec)  # a plain spec again: runs once
        del self._hook, self._finder
        module = sys.modules.get(self.name)
        if module is None:  # the import failed: keep the hook for the next attempt
            return
        finder.forget(self.name)
        try:
            hook(module)
        except Exception as error:  # a tuning hook must never break the user's import
            warnings.warn(
                f"intel_notebook: could not tune {self.name}: {error}",
                RuntimeWarning,
                stacklevel=2,
            )


class AfterImportFinder:
    """Finds nothing itself; marks the spec of the modules that have a pending hook.

    A plain class with `find_spec` is all sys.meta_path needs (the language reference, "The
    meta path"): subclassing importlib.abc.MetaPathFinder would import importlib.resources,
    pathlib and tempfile, 14 ms added to the start of every Python process in the image.
    """

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
        """The real spec of a hooked module, made to run the hook; None for the rest.

        The hook stays registered until the module really executes: a mere
        importlib.util.find_spec() probe must not use it up.
        """
        hook = self._hook_for(fullname)
        if hook is None:
            return None
        spec = _find_with_others(self, fullname, path, target)
        if spec is None or type(spec) is not ModuleSpec:  # a finder's own spec class: leave it
            return spec
        _HookedSpec.adopt(spec, hook, self)
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
