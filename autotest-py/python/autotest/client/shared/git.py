"""Legacy ``git`` helpers: fetch a repository into a directory at a branch or commit.

Local paths and ``file://`` work; a network URL is tried as given (machines under test usually
have no network: the git error then says so)."""

import logging
import os
import subprocess

from autotest.client.shared import error

__all__ = ["GitRepoHelper", "get_repo"]


class GitRepoHelper(object):
    """A working copy of ``uri`` at ``branch`` (and ``commit``) in ``destination_dir``."""

    def __init__(self, uri, branch="master", lbranch=None, commit=None, destination_dir=None,
                 base_uri=None):
        self.uri = uri
        self.branch = branch
        self.lbranch = lbranch or branch
        self.commit = commit
        self.base_uri = base_uri
        self.destination_dir = destination_dir or os.path.join(
            os.getcwd(), os.path.basename(uri.rstrip("/")).replace(".git", ""))

    def git_cmd(self, cmd, ignore_status=False):
        """Runs ``git <cmd>`` in the working copy; TestError with git's message on failure."""
        r = subprocess.run("git " + cmd, shell=True, cwd=self.destination_dir,
                           capture_output=True, text=True)
        if r.returncode != 0 and not ignore_status:
            raise error.TestError("git %s failed in %s (status %d): %s" % (
                cmd, self.destination_dir, r.returncode, r.stderr.strip()))
        return r

    def init(self):
        os.makedirs(self.destination_dir, exist_ok=True)
        if not os.path.isdir(os.path.join(self.destination_dir, ".git")):
            self.git_cmd("init -q")

    def fetch(self, uri):
        logging.info("fetching %s (%s) into %s", uri, self.branch, self.destination_dir)
        self.git_cmd("fetch -q %s %s:refs/remotes/origin/%s" % (uri, self.branch, self.branch))

    def checkout(self, branch=None, commit=None):
        branch = branch or self.lbranch
        self.git_cmd("checkout -q -B %s origin/%s" % (branch, self.branch))
        if commit or self.commit:
            self.git_cmd("reset -q --hard %s" % (commit or self.commit))

    def get_top_commit(self):
        return self.git_cmd("log --pretty=format:%H -1").stdout.strip()

    def execute(self):
        """Initialises, fetches and checks out; returns the working copy's path."""
        self.init()
        if self.base_uri:
            self.fetch(self.base_uri)
        self.fetch(self.uri)
        self.checkout()
        return self.destination_dir


def get_repo(uri, branch="master", lbranch=None, commit=None, destination_dir=None,
             base_uri=None):
    """Fetches ``uri`` into ``destination_dir`` and returns that path."""
    return GitRepoHelper(uri, branch, lbranch, commit, destination_dir, base_uri).execute()
