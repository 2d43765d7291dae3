"""Legacy import paths, so unmodified control files and test modules load.

``autotest_lib.client.bin.{test,utils,job}``, ``autotest_lib.client.common_lib.{error,utils}``,
``autotest.client.common_lib.*`` and ``autotest.client.bin.*`` all resolve to this package.
"""

import sys
import types

_ALIASES = {
    "autotest_lib": None,
    "autotest_lib.client": None,
    "autotest_lib.client.bin": None,
    "autotest_lib.client.bin.test": "autotest.client.test",
    "autotest_lib.client.bin.utils": "autotest.client.utils",
    "autotest_lib.client.bin.job": "autotest.client.job",
    "autotest_lib.client.bin.kernel": "autotest.client.kernel",
    "autotest_lib.client.common_lib": None,
    "autotest_lib.client.common_lib.error": "autotest.client.shared.error",
    "autotest_lib.client.common_lib.utils": "autotest.client.utils",
    "autotest.client.common_lib": None,
    "autotest.client.common_lib.error": "autotest.client.shared.error",
    "autotest.client.common_lib.utils": "autotest.client.utils",
    "autotest.client.bin": None,
    "autotest.client.bin.test": "autotest.client.test",
    "autotest.client.bin.utils": "autotest.client.utils",
    "autotest.client.bin.kernel": "autotest.client.kernel",
    "autotest.client.shared.utils": "autotest.client.utils",
}


def install():
    """Registers the legacy module names in ``sys.modules`` (idempotent)."""
    import importlib
    for alias in sorted(_ALIASES, key=lambda a: a.count(".")):
        if alias in sys.modules:
            continue
        target = _ALIASES[alias]
        if target is None:
            mod = types.ModuleType(alias)
            mod.__path__ = []
        else:
            mod = importlib.import_module(target)
        sys.modules[alias] = mod
        parent, _, leaf = alias.rpartition(".")
        if parent:
            setattr(sys.modules[parent], leaf, mod)
    # `import common` in old test directories set up autotest_lib; it is a no-op here.
    sys.modules.setdefault("common", types.ModuleType("common"))
