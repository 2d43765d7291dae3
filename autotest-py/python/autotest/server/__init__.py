"""The server side: what a server control file (``.srv``) sees. Every host operation is carried
out by the Rust core (``autotest autoserv``) over the socket in ``AUTOTEST_SERVER_SOCKET``."""
