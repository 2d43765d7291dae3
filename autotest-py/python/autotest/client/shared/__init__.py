"""Modules shared by client and server (legacy: autotest.client.shared, autotest_lib.client.common_lib)."""
