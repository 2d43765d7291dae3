"""autotest-rs: run legacy Autotest control files; the job engine is native (autotest._native)."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autotest.lab import Lab

__all__ = ["Lab"]


def __getattr__(name: str) -> Any:
    # Lazily: `import autotest` (every control file's job) does not open the lab SDK.
    if name == "Lab":
        from autotest.lab import Lab
        return Lab
    raise AttributeError("module 'autotest' has no attribute %r" % name)
