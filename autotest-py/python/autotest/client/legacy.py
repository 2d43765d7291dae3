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
    # Modules the legacy suite imports, under both roots (issue 14).
    "autotest.client.shared.base_utils": "autotest.client.base_utils",
    "autotest.client.bin.base_utils": "autotest.client.base_utils",
    "autotest.client.bin.os_dep": "autotest.client.os_dep",
    "autotest.client.bin.partition": "autotest.client.partition",
    "autotest.client.bin.net": "autotest.client.net",
    "autotest.client.bin.net.net_utils": "autotest.client.net.net_utils",
    "autotest.client.common_lib.barrier": "autotest.client.shared.barrier",
    "autotest.client.common_lib.utils_memory": "autotest.client.shared.utils_memory",
    "autotest.client.common_lib.software_manager": "autotest.client.shared.software_manager",
    "autotest.client.common_lib.logging_config": "autotest.client.shared.logging_config",
    "autotest.client.common_lib.boottool": "autotest.client.shared.boottool",
    "autotest_lib.client.bin.base_utils": "autotest.client.base_utils",
    "autotest_lib.client.bin.os_dep": "autotest.client.os_dep",
    "autotest_lib.client.bin.partition": "autotest.client.partition",
    "autotest_lib.client.bin.utils_memory": "autotest.client.shared.utils_memory",
    "autotest_lib.client.bin.net": "autotest.client.net",
    "autotest_lib.client.bin.net.net_utils": "autotest.client.net.net_utils",
    "autotest_lib.client.common_lib.barrier": "autotest.client.shared.barrier",
    "autotest_lib.client.common_lib.base_utils": "autotest.client.base_utils",
    "autotest_lib.client.common_lib.utils_memory": "autotest.client.shared.utils_memory",
    "autotest_lib.client.common_lib.utils_cgroup": "autotest.client.shared.utils_cgroup",
    "autotest_lib.client.common_lib.software_manager": "autotest.client.shared.software_manager",
    "autotest_lib.client.common_lib.git": "autotest.client.shared.git",
    "autotest_lib.client.common_lib.logging_config": "autotest.client.shared.logging_config",
    "autotest_lib.client.common_lib.boottool": "autotest.client.shared.boottool",
    "autotest_lib.client.os_dep": "autotest.client.os_dep",
    "autotest_lib.client.net": "autotest.client.net",
    "autotest_lib.client.net.net_utils": "autotest.client.net.net_utils",
    "autotest_lib.client.shared": "autotest.client.shared",
    "autotest_lib.client.shared.error": "autotest.client.shared.error",
    "autotest_lib.client.shared.utils": "autotest.client.utils",
    "autotest_lib.client.shared.barrier": "autotest.client.shared.barrier",
    "autotest_lib.client.shared.utils_memory": "autotest.client.shared.utils_memory",
    "autotest_lib.client.shared.utils_cgroup": "autotest.client.shared.utils_cgroup",
    "autotest_lib.client.shared.software_manager": "autotest.client.shared.software_manager",
    "autotest_lib.client.shared.git": "autotest.client.shared.git",
    "autotest_lib.client.shared.logging_config": "autotest.client.shared.logging_config",
    "autotest_lib.client.test": "autotest.client.test",
    "autotest_lib.client.utils": "autotest.client.utils",
    "autotest_lib.common": "autotest.common",
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
