"""The legacy exception hierarchy. A test's exception decides its status through ``exit_status``."""

import sys
import traceback

__all__ = [
    "format_error", "AutotestError", "JobError", "UnhandledJobError", "JobComplete",
    "JobContinue", "TestBaseException", "TestError", "TestNAError", "TestFail", "TestWarn",
    "UnhandledTestError", "UnhandledTestFail", "TestTimeoutError", "CmdError",
    "PackageError", "AutoservError", "AutoservRunError", "ProfilerError", "InstallError",
    "BarrierError", "BarrierAbortError",
]


def format_error():
    """The current exception's traceback as text."""
    t, o, tb = sys.exc_info()
    return "".join(traceback.format_exception(t, o, tb))


class AutotestError(Exception):
    """Base of every Autotest error."""


class JobError(AutotestError):
    """The job cannot go on: it is aborted (status ABORT)."""


class UnhandledJobError(JobError):
    """An unexpected exception that ends the job."""


class JobComplete(SystemExit):
    """Raised to end a job early and successfully."""


class JobContinue(SystemExit):
    """Raised when the job asks for a reboot and will continue afterwards."""


class TestBaseException(AutotestError):
    """Base of the exceptions that end a test with a status."""
    exit_status = "NEVER_RAISE_THIS"


class TestError(TestBaseException):
    """The test could not run properly (ERROR)."""
    exit_status = "ERROR"


class TestNAError(TestBaseException):
    """The test does not apply to this machine (TEST_NA)."""
    exit_status = "TEST_NA"


class TestFail(TestBaseException):
    """The test ran and failed (FAIL)."""
    exit_status = "FAIL"


class TestWarn(TestBaseException):
    """The test passed with a warning (WARN)."""
    exit_status = "WARN"


class TestTimeoutError(TestBaseException):
    """The test ran past its timeout and was killed (ABORT)."""
    exit_status = "ABORT"


class UnhandledTestError(TestError):
    """Any other exception raised inside a test (ERROR)."""

    def __init__(self, unhandled_exception):
        if isinstance(unhandled_exception, TestError):
            TestError.__init__(self, *unhandled_exception.args)
        else:
            msg = "Unhandled %s: %s" % (type(unhandled_exception).__name__, unhandled_exception)
            TestError.__init__(self, msg)


class UnhandledTestFail(TestFail):
    """A TestFail wrapped on its way out of a test."""

    def __init__(self, unhandled_exception):
        TestFail.__init__(self, *getattr(unhandled_exception, "args", (str(unhandled_exception),)))


class CmdError(TestError):
    """A command run by utils.system/run ended with a non-zero status (or timed out)."""

    def __init__(self, command, result_obj=None, additional_text=None):
        TestError.__init__(self, command, result_obj, additional_text)
        self.command = command
        self.result_obj = result_obj
        self.additional_text = additional_text

    def __str__(self):
        status = getattr(self.result_obj, "exit_status", None)
        if status is None:
            msg = "Command <%s> failed" % self.command
        else:
            msg = "Command <%s> failed, rc=%s" % (self.command, status)
        if self.additional_text:
            msg += ", " + self.additional_text
        stderr = getattr(self.result_obj, "stderr", "")
        if stderr:
            tail = stderr.strip().splitlines()[-3:]
            msg += ": " + " | ".join(tail)
        return msg


class PackageError(TestError):
    """A package could not be installed or fetched."""


class InstallError(JobError):
    """Autotest or a component of it could not be installed."""


class ProfilerError(JobError):
    """A profiler is unknown or failed."""


class AutoservError(Exception):
    """Base of server-side errors."""


class AutoservRunError(AutoservError):
    """A remote command failed."""

    def __init__(self, description, result_obj=None):
        AutoservError.__init__(self, description, result_obj)
        self.description = description
        self.result_obj = result_obj

    def __str__(self):
        return str(self.description)


class BarrierError(JobError):
    """A barrier between machines timed out or broke (the job cannot go on)."""


class BarrierAbortError(BarrierError):
    """A member aborted the barrier."""
