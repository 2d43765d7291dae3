"""The lab SDK: hosts, labels, jobs and their parsed results in the lab database.

A harness that drives a lab::

    from autotest import Lab

    lab = Lab("sqlite:/var/lib/autotest/lab.db")          # or Lab(): AUTOTEST_DB, config, default
    lab.create_label("x86_64", platform=True)
    lab.create_host("m1", labels=["x86_64"])
    job = lab.create_job("kernbench", control_file="control", meta_hosts=["x86_64"])
    print(job.status())
    for t in job.tests():
        print(t.name, t.status, [it.perf for it in t.iterations])

Every call goes to the same core calls as the `autotest` CLI (`autotest_core::store`) through
the native module, with the GIL released while the database works. Errors are `LabError`
(`NotFoundError`, `RefusedError`, `SchemaError`), their messages the core's. Times are UTC
`datetime` objects.
"""

from __future__ import annotations

import getpass
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar, Union

from autotest import _native
from autotest._native import LabError, NotFoundError, RefusedError, SchemaError

__all__ = [
    "Entry",
    "Host",
    "Iteration",
    "Job",
    "JobStatus",
    "JobTimeoutError",
    "Lab",
    "LabError",
    "Label",
    "NotFoundError",
    "PRIORITIES",
    "ParseResult",
    "RefusedError",
    "SchemaError",
    "TestResult",
]

_StrPath = Union[str, "os.PathLike[str]"]

#: The legacy frontend's priority names and their stored values (higher runs first).
PRIORITIES: Dict[str, int] = {"low": 0, "medium": 1, "high": 2, "urgent": 3}

#: Entry states that are final, from the core (`EntryStatus::is_complete`).
_FINAL = frozenset(name for name, final in _native.LabStore.entry_states() if final)


def _utc(ts: Optional[int]) -> Optional[datetime]:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


def _utc_req(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


class JobTimeoutError(LabError, TimeoutError):
    """`Job.wait` ran out of time; `status` is the job's status when it gave up."""

    def __init__(self, job: "Job", timeout: float, status: "JobStatus") -> None:
        self.job_id = job.id
        self.job_name = job.name
        self.timeout = timeout
        self.status = status
        super().__init__(
            "job %d (%s) did not finish within %gs: its entries are %s; wait longer, or abort it "
            "with lab.job(%d).abort()" % (job.id, job.name, timeout, status.describe(), job.id))


@dataclass(frozen=True)
class Label:
    """A label of hosts (a platform, or a feature a job can depend on)."""

    id: int
    name: str
    platform: bool
    only_if_needed: bool


@dataclass(frozen=True)
class Host:
    """A machine of the lab."""

    id: int
    hostname: str
    status: str
    locked: bool
    locked_by: Optional[str]
    lock_time: Optional[datetime]
    dirty: bool
    protection: str
    created_on: datetime
    labels: Tuple[str, ...]
    attributes: Mapping[str, str]


@dataclass(frozen=True)
class Entry:
    """A host queue entry: one host (or one "any host with label L") of a job."""

    id: int
    job_id: int
    #: The host, once known (always for a job on named hosts).
    host: Optional[str]
    #: The label of a metahost entry.
    meta_host: Optional[str]
    status: str
    active: bool
    complete: bool
    aborted: bool
    aborted_by: Optional[str]
    aborted_on: Optional[datetime]
    execution_subdir: str
    started_on: Optional[datetime]
    finished_on: Optional[datetime]


@dataclass(frozen=True)
class JobStatus:
    """A job's entries counted by state, and the job's overall state."""

    job_id: int
    #: Entry state -> how many entries are in it (states with none are left out).
    counts: Mapping[str, int]
    #: Queued, Running, Aborting (aborted, not all finished), or when every entry is complete:
    #: Completed, Failed (one Failed or Stopped) or Aborted (one Aborted).
    state: str
    #: Every entry is in a final state.
    complete: bool
    #: How many entries were aborted.
    aborted: int

    def describe(self) -> str:
        """`Queued: 2, Running: 1` (with `(aborted: N)` when some are)."""
        text = ", ".join("%s: %d" % kv for kv in sorted(self.counts.items())) or "none"
        return text + (" (aborted: %d)" % self.aborted if self.aborted else "")


@dataclass(frozen=True)
class Iteration:
    """One iteration of a test: its perf keyvals (numbers) and attr keyvals."""

    index: int
    perf: Mapping[str, float]
    attr: Mapping[str, str]


@dataclass(frozen=True)
class TestResult:
    """A parsed test of a job (legacy TKO `tko_tests` row with its keyvals)."""

    id: int
    #: The parsed job it belongs to (its results directory; per machine for multi-machine jobs).
    job_tag: str
    name: str
    subdir: str
    status: str
    reason: str
    kernel: Optional[str]
    machine: str
    started: Optional[datetime]
    finished: Optional[datetime]
    attributes: Mapping[str, str]
    iterations: Tuple[Iteration, ...]

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class ParseResult:
    """What `Lab.parse` stored: `(tag, machine, status, tests)` per job, and the problems."""

    jobs: Tuple[Tuple[str, str, str, int], ...]
    problems: Tuple[str, ...]


@dataclass(frozen=True)
class Job:
    """A job of the lab, as it was when read; `status()`, `entries()` and `tests()` read anew."""

    id: int
    name: str
    owner: str
    priority: int
    control_file: str
    control_type: str
    synch_count: int
    timeout_hrs: int
    max_runtime_hrs: int
    run_verify: bool
    reboot_before: str
    reboot_after: str
    email_list: str
    dependencies: Tuple[str, ...]
    keyvals: Mapping[str, str]
    created_on: datetime
    lab: "Lab" = field(repr=False, compare=False)

    def entries(self) -> List[Entry]:
        """The job's host queue entries, in creation order."""
        return [_entry(d) for d in self.lab._store.entries(self.id)]

    def status(self) -> JobStatus:
        """The entries counted by state, and the overall state."""
        return _status(self.id, self.entries())

    def tests(self) -> List[TestResult]:
        """The job's parsed results (after `autotest parse` or `Lab.parse` of its results)."""
        return [_test(d) for d in self.lab._store.tests(self.id)]

    def abort(self, by: Optional[str] = None) -> int:
        """Aborts every entry not complete, as `by` (the current user); returns how many."""
        return self.lab._store.abort_job(self.id, by or getpass.getuser())

    def wait(self, timeout: Optional[float] = None, poll: float = 2.0) -> JobStatus:
        """Waits until every entry is complete and returns the final status; after `timeout`
        seconds raises `JobTimeoutError` naming the job and the states it was in."""
        if poll <= 0:
            raise RefusedError("wait(poll=%r): poll must be a positive number of seconds" % poll)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            st = self.status()
            if st.complete:
                return st
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise JobTimeoutError(self, timeout or 0.0, st)
                time.sleep(min(poll, left))
            else:
                time.sleep(poll)


def _entry(d: _native._EntryRow) -> Entry:
    return Entry(
        id=d["id"], job_id=d["job_id"], host=d["host"], meta_host=d["meta_host"],
        status=d["status"], active=d["active"], complete=d["complete"], aborted=d["aborted"],
        aborted_by=d["aborted_by"], aborted_on=_utc(d["aborted_on"]),
        execution_subdir=d["execution_subdir"], started_on=_utc(d["started_on"]),
        finished_on=_utc(d["finished_on"]))


def _status(job_id: int, entries: Sequence[Entry]) -> JobStatus:
    counts: Dict[str, int] = {}
    for e in entries:
        counts[e.status] = counts.get(e.status, 0) + 1
    complete = all(e.status in _FINAL for e in entries)
    aborted = sum(1 for e in entries if e.aborted)
    if complete:
        if "Aborted" in counts:
            state = "Aborted"
        elif "Failed" in counts or "Stopped" in counts:
            state = "Failed"
        else:
            state = "Completed"
    elif aborted:
        state = "Aborting"
    elif any(e.status != "Queued" for e in entries):
        state = "Running"
    else:
        state = "Queued"
    return JobStatus(job_id=job_id, counts=counts, state=state, complete=complete,
                     aborted=aborted)


def _test(d: _native._TestRow) -> TestResult:
    return TestResult(
        id=d["id"], job_tag=d["job_tag"], name=d["name"], subdir=d["subdir"],
        status=d["status"], reason=d["reason"], kernel=d["kernel"], machine=d["machine"],
        started=_utc(d["started"]), finished=_utc(d["finished"]),
        attributes=dict(d["attributes"]),
        iterations=tuple(Iteration(index=i["iteration"], perf=dict(i["perf"]),
                                   attr=dict(i["attr"])) for i in d["iterations"]))


def _host(d: _native._HostRow) -> Host:
    return Host(
        id=d["id"], hostname=d["hostname"], status=d["status"], locked=d["locked"],
        locked_by=d["locked_by"], lock_time=_utc(d["lock_time"]), dirty=d["dirty"],
        protection=d["protection"], created_on=_utc_req(d["created_on"]),
        labels=tuple(d["labels"]), attributes=dict(d["attributes"]))


def _label(d: _native._LabelRow) -> Label:
    return Label(id=d["id"], name=d["name"], platform=d["platform"],
                 only_if_needed=d["only_if_needed"])


def _names(what: str, value: Union[str, Sequence[str], None]) -> List[str]:
    # A lone string is a common slip for a list of one: take it as one name, not letters.
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    names = list(value)
    for n in names:
        if not isinstance(n, str):
            raise RefusedError("%s: %r is not a name (give a list of strings)" % (what, n))
    return names


def _priority(priority: Union[str, int]) -> int:
    if isinstance(priority, bool):
        raise RefusedError("priority %r is not one of %s, nor an int"
                           % (priority, ", ".join(PRIORITIES)))
    if isinstance(priority, int):
        return priority
    if isinstance(priority, str) and priority.lower() in PRIORITIES:
        return PRIORITIES[priority.lower()]
    raise RefusedError("priority %r is not one of %s, nor an int"
                       % (priority, ", ".join(PRIORITIES)))


_L = TypeVar("_L", bound="Lab")


class Lab:
    """An open lab database.

    `url`: `sqlite:<file>` or `postgres://user@host[:port]/db`; None resolves it as the CLI
    does: `AUTOTEST_DB`, else `[AUTOTEST_WEB]` of `<config_dir>/global_config.ini` (default
    `$AUTOTEST_CONFIG_DIR`), else the default SQLite file. `migrate=True` creates or upgrades
    the schema first (like `autotest db migrate`); otherwise a database of another schema
    version raises `SchemaError`.
    """

    def __init__(self, url: Optional[str] = None, config_dir: Optional[_StrPath] = None,
                 migrate: bool = False) -> None:
        if config_dir is None:
            config_dir = os.environ.get("AUTOTEST_CONFIG_DIR") or None
        self._store = _native.LabStore.open(
            url, None if config_dir is None else os.fspath(config_dir), migrate)

    @classmethod
    def migrate(cls: Type[_L], url: Optional[str] = None,
                config_dir: Optional[_StrPath] = None) -> _L:
        """Creates or upgrades the database's schema and opens it."""
        return cls(url, config_dir=config_dir, migrate=True)

    @property
    def url(self) -> str:
        """Where the database is (passwords hidden)."""
        return self._store.url

    @property
    def backend(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._store.backend

    def schema_version(self) -> int:
        return self._store.schema_version()

    def close(self) -> None:
        """Closes the connections; the lab cannot be used afterwards."""
        self._store.close()

    def __enter__(self: _L) -> _L:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "Lab(%r)" % self.url

    # ---- hosts ----

    def create_host(self, name: str, labels: Sequence[str] = (), locked: bool = False,
                    by: Optional[str] = None) -> Host:
        """Adds a host with `labels` (which must exist), locked by `by` (the current user)
        when `locked`."""
        return _host(self._store.create_host(name, _names("labels", labels), locked,
                                             by or getpass.getuser()))

    def host(self, name: str) -> Host:
        return _host(self._store.host(name))

    def hosts(self, label: Optional[str] = None, status: Optional[str] = None,
              locked: Optional[bool] = None) -> List[Host]:
        """The hosts by name: with `label`, in `status` (e.g. "Ready"), locked or unlocked."""
        return [_host(d) for d in self._store.hosts(label, status, locked)]

    def lock_host(self, name: str, by: Optional[str] = None) -> Host:
        return _host(self._store.lock_host(name, by or getpass.getuser()))

    def unlock_host(self, name: str) -> Host:
        return _host(self._store.unlock_host(name))

    def delete_host(self, name: str) -> None:
        self._store.delete_host(name)

    # ---- labels ----

    def create_label(self, name: str, platform: bool = False,
                     only_if_needed: bool = False) -> Label:
        return _label(self._store.create_label(name, platform, only_if_needed))

    def label(self, name: str) -> Label:
        return _label(self._store.label(name))

    def labels(self) -> List[Label]:
        return [_label(d) for d in self._store.labels()]

    def add_label(self, label: str, hosts: Union[str, Sequence[str]]) -> None:
        """Gives `hosts` the label (all of them exist, or none is changed)."""
        self._store.add_label(label, _names("hosts", hosts))

    def remove_label(self, label: str, hosts: Union[str, Sequence[str]]) -> None:
        self._store.remove_label(label, _names("hosts", hosts))

    def delete_label(self, name: str) -> None:
        self._store.delete_label(name)

    # ---- jobs ----

    def create_job(
        self,
        name: str,
        control: Optional[str] = None,
        control_file: Optional[_StrPath] = None,
        hosts: Sequence[str] = (),
        meta_hosts: Sequence[str] = (),
        dependencies: Sequence[str] = (),
        synch_count: int = 1,
        priority: Union[str, int] = "medium",
        server: bool = False,
        timeout_hrs: Optional[int] = None,
        max_runtime_hrs: Optional[int] = None,
        run_verify: Optional[bool] = None,
        reboot_before: Optional[str] = None,
        reboot_after: Optional[str] = None,
        email_list: Union[str, Sequence[str], None] = None,
        keyvals: Optional[Mapping[str, str]] = None,
        owner: Optional[str] = None,
    ) -> Job:
        """Creates a job with the core's checks; returns it.

        The control file is `control` (its text) or `control_file` (a path). `hosts` are
        named hosts; `meta_hosts` labels, one machine each (repeat a label for more);
        `dependencies` labels every host must have. `priority`: low, medium, high, urgent or
        an int. `reboot_before`: never, if_dirty, always; `reboot_after`: never,
        if_all_tests_passed, always. Unset options take the core's defaults.
        """
        if (control is None) == (control_file is None):
            raise RefusedError("create_job(%r): give the control file's text as control= or its "
                               "path as control_file=, not %s" % (
                                   name, "both" if control is not None else "neither"))
        emails = (email_list if isinstance(email_list, str) or email_list is None
                  else ",".join(_names("email_list", email_list)))
        pairs = [(str(k), str(v)) for k, v in (keyvals or {}).items()]
        d = self._store.create_job(
            name, owner or getpass.getuser(), control,
            None if control_file is None else os.fspath(control_file), server,
            _names("hosts", hosts), _names("meta_hosts", meta_hosts),
            _names("dependencies", dependencies), synch_count, _priority(priority),
            timeout_hrs, max_runtime_hrs, run_verify, reboot_before, reboot_after, emails,
            pairs)
        return self._job(d)

    def job(self, id: int) -> Job:
        return self._job(self._store.job(id))

    def jobs(self, owner: Optional[str] = None, running: bool = False) -> List[Job]:
        """Jobs oldest first: of `owner` only, and only those not finished when `running`."""
        return [self._job(d) for d in self._store.jobs(owner, running)]

    def parse(self, results_dir: _StrPath) -> ParseResult:
        """Stores a job's results directory in the results tables (`autotest parse`); a
        `<jobid>-<owner>` directory becomes that job's `tests()`."""
        jobs, problems = self._store.parse(os.fspath(results_dir))
        return ParseResult(
            jobs=tuple((j["tag"], j["machine"], j["status"], j["tests"]) for j in jobs),
            problems=tuple(problems))

    def _job(self, d: _native._JobRow) -> Job:
        return Job(
            id=d["id"], name=d["name"], owner=d["owner"], priority=d["priority"],
            control_file=d["control_file"], control_type=d["control_type"],
            synch_count=d["synch_count"], timeout_hrs=d["timeout_hrs"],
            max_runtime_hrs=d["max_runtime_hrs"], run_verify=d["run_verify"],
            reboot_before=d["reboot_before"], reboot_after=d["reboot_after"],
            email_list=d["email_list"], dependencies=tuple(d["dependencies"]),
            keyvals=dict(d["keyvals"]), created_on=_utc_req(d["created_on"]), lab=self)
