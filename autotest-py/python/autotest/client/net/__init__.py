"""Legacy ``autotest.client.net``: network helpers for tests (``net_utils``)."""
