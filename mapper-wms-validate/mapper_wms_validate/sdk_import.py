"""Start-up: the SDK package's `__init__` runs when something first needs it, not before the mapper starts.

Why: importing any part of the SDK (`singer_sdk.mapper_base`) first runs `singer_sdk/__init__.py`, which
imports the tap, target, sink and stream classes and with them requests, fsspec, joblib and asyncio:
about 0.15 s of CPU at every start, none of which a mapper uses. The mapper imports the SDK's modules it
does use (`singer_sdk.mapper_base`, `singer_sdk.typing`, ...) by their full names, and they do not need
the package's `__init__`.

How: before anything imports `singer_sdk`, its package module is made from its own spec (the same
`__path__`, `__file__` and loader) and registered without running `__init__.py` yet. Submodule imports
work as usual. The first time anything asks the package for a name that is not a submodule
(`singer_sdk.Tap`, `from singer_sdk import Stream`, `__all__`), `__init__.py` runs in that very module, as
it would have at import, and the name is looked up there. Code that uses the package's names sees what it
always saw, a little later; a mapper run never needs it. When `singer_sdk` is already imported (a test
session with the SDK's pytest plugin, another program), nothing is changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import typing as t

PACKAGE = "singer_sdk"


def defer_package_init(name: str = PACKAGE) -> None:
    """Register package `name` with its `__init__.py` not run yet, to run on first use of its names."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attribute: str) -> t.Any:  # the module attribute hook (PEP 562)
        if attribute.startswith("__") and attribute != "__all__":
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        if attribute != "__all__" and importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")  # a submodule: it alone
        del package.__getattr__  # `__init__.py` may define its own
        loader.exec_module(package)
        return getattr(package, attribute)

    package.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules[name] = package
