"""Legacy ``logging_config``: the logging setup test programs subclass (``LoggingConfig``)."""

import logging
import os
import sys

__all__ = ["LoggingConfig", "TestingConfig", "AllowBlankLoggingConfig"]


class LoggingConfig(object):
    """Configures the root logger: a console handler, optional file handlers."""

    global_level = logging.DEBUG
    stdout_level = logging.INFO
    stderr_level = logging.ERROR
    file_formatter = logging.Formatter(
        fmt="%(asctime)s %(levelname)-5.5s| %(message)s", datefmt="%H:%M:%S")
    console_formatter = logging.Formatter(
        fmt="%(asctime)s %(levelname)-5.5s| %(message)s", datefmt="%H:%M:%S")

    def __init__(self, use_console=True):
        self.logger = logging.getLogger()
        self.global_level = LoggingConfig.global_level
        self.use_console = use_console

    def add_stream_handler(self, stream, level=logging.DEBUG, datefmt=None):
        handler = logging.StreamHandler(stream)
        handler.setLevel(level)
        handler.setFormatter(self.console_formatter)
        self.logger.addHandler(handler)
        return handler

    def add_console_handlers(self):
        self.add_stream_handler(sys.stdout, level=self.stdout_level)

    def add_file_handler(self, file_path, level=logging.DEBUG, log_dir=None, datefmt=None):
        if log_dir:
            file_path = os.path.join(log_dir, file_path)
        handler = logging.FileHandler(file_path)
        handler.setLevel(level)
        handler.setFormatter(self.file_formatter)
        self.logger.addHandler(handler)
        return handler

    def configure_logging(self, use_console=True, verbose=False):
        self.logger.setLevel(self.global_level)
        if use_console and self.use_console:
            self.add_console_handlers()
        if verbose:
            for h in self.logger.handlers:
                h.setLevel(logging.DEBUG)


class TestingConfig(LoggingConfig):
    """Logging for unit tests of programs: warnings and errors only, to stderr."""

    def add_console_handlers(self):
        self.add_stream_handler(sys.stderr, level=logging.WARNING)


class AllowBlankLoggingConfig(LoggingConfig):
    """A configuration that adds no handler."""

    def configure_logging(self, use_console=True, verbose=False):
        self.logger.setLevel(self.global_level)
