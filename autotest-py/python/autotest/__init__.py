"""autotest-rs: run legacy Autotest control files; the job engine is native (autotest._native)."""
