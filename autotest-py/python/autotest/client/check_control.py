"""Checks a control file as the client runner does before running it, for the lab database's
job creation: ``python3 -m autotest.client.check_control NAME`` reads the control file's text on
stdin and names NAME in its message. Exit 0: it compiles; 1: refused, the reason on stderr (the
same text ``autotest run`` gives); 2: bad command line."""

import sys

from autotest.client import syntax


def problem(source, name):
    """Why ``source`` (bytes) cannot run as a control file named ``name``, or None."""
    at = source.find(b"\0")
    if at >= 0:
        line_start = source.rfind(b"\n", 0, at) + 1
        return ("%s, line %d, column %d: a NUL byte: a control file is Python source text; "
                "remove the byte (was the file saved in UTF-16, or is it binary?)"
                % (name, source.count(b"\n", 0, at) + 1, at - line_start + 1))
    try:
        compile(source, name, "exec")
    except SyntaxError as e:
        return syntax.describe(e, name)
    except ValueError as e:
        return "%s: %s" % (name, e)
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: python3 -m autotest.client.check_control NAME < control\n")
        return 2
    why = problem(sys.stdin.buffer.read(), argv[0])
    if why is None:
        return 0
    sys.stderr.write(why + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
