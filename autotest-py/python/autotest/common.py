"""``import common`` / ``from autotest import common``: legacy test directories imported it to
set up ``sys.path``; the package is importable already, so there is nothing to do."""
