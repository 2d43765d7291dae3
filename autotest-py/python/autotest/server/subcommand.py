"""``parallel``, ``parallel_simple`` and ``subcommand`` for server control files."""

__all__ = ["parallel", "parallel_simple", "subcommand"]


def parallel_simple(function, arglist, log=True, timeout=None, return_results=False):
    """Runs ``function(arg)`` for every arg at the same time (one process each)."""
    from autotest.server import server_job
    server_job.current().parallel_simple(function, arglist)


def parallel(tasklist, timeout=None, return_results=False):
    """Runs subcommands (or ``[function, args...]`` lists) at the same time."""
    from autotest.server import server_job
    tasks = []
    for t in tasklist:
        if isinstance(t, subcommand):
            tasks.append([t.func] + list(t.args))
        else:
            tasks.append(t)
    server_job.current().parallel(*tasks)


class subcommand(object):
    """A function and its arguments, to run with :func:`parallel`."""

    def __init__(self, func, args, subdir=None):
        self.func = func
        self.args = tuple(args)
        self.subdir = subdir
