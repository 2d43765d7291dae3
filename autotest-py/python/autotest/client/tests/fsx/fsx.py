"""fsx: a file-system exerciser. Random operations on one file, each checked against an
in-memory model of what the file must hold.

The operations: ``write`` (random offset and length, extending the file when it writes past
its end), ``read`` (compared with the model, reads running past the end of the file check that
it ends where it should), ``truncate`` (to a random size, up or down; growth must read back as
zeros), ``mapread`` and ``mapwrite`` (the same through ``mmap``; a mapwrite past the end of the
file first grows it with ftruncate, as the original fsx does; a mapread of an empty file is
skipped), and ``reopen`` (close and open again, now and then after an fsync). After every
operation the file's size must equal the model's, and at the end the whole file is compared
with the model.

The operations come from a seeded PRNG: the ``seed`` (default: from the clock) is recorded as
an attr keyval and given in every failure message, so ``job.run_test('fsx', seed=N, ops=M)``
replays a failure exactly. A mismatch ends the test as FAIL with the operation's number, name,
offset and length and the first differing byte; the last operations are written to
``debug/fsx.oplog``.

Parameters (all keywords): ``dir`` (default: the test's tmpdir), ``ops`` (default 3000),
``seed`` (default: from the clock), ``max_file_size`` (default 256 KiB), ``max_op_size``
(default 64 KiB).

Keyvals: attr ``seed``; perf ``ops``, ``bytes_written``, ``bytes_read``, ``ops_per_sec``,
``elapsed`` (seconds), and per operation ``ops_write``, ``ops_read``, ``ops_truncate``,
``ops_mapread``, ``ops_mapwrite``, ``ops_reopen``, ``ops_skipped`` (mapreads of an empty file).
"""

import collections
import mmap
import os
import random
import time

from autotest.client import test
from autotest.client.shared import error

OPERATIONS = ("write", "read", "truncate", "mapread", "mapwrite", "reopen")
DEFAULT_WEIGHTS = {"write": 6, "read": 6, "truncate": 2, "mapread": 4, "mapwrite": 4,
                   "reopen": 1}


class FsxEngine(object):
    """The exerciser: ``FsxEngine(path, seed).run(ops)`` performs ``ops`` random operations on
    ``path`` (created or emptied), raising ``error.TestFail`` at the first disagreement between
    the file and the model. ``step()`` performs one operation, ``verify_file()`` compares the
    whole file; ``log`` holds the last operations as (number, name, offset, length) tuples."""

    def __init__(self, path, seed, max_file_size=256 * 1024, max_op_size=64 * 1024,
                 weights=None, log_size=64):
        if max_file_size < 1 or max_op_size < 1:
            raise ValueError("max_file_size and max_op_size must be positive")
        weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(weights) - set(OPERATIONS)
        if unknown:
            raise ValueError("unknown fsx operations: %s" % ", ".join(sorted(unknown)))
        self.ops = [op for op in OPERATIONS if weights.get(op, 0) > 0]
        if not self.ops:
            raise ValueError("no fsx operation has a positive weight")
        self.weights = [weights[op] for op in self.ops]
        self.path = path
        self.seed = seed
        self.rng = random.Random(seed)
        self.max_file_size = int(max_file_size)
        self.max_op_size = int(max_op_size)
        self.model = bytearray()
        self.opnum = 0
        self.log = collections.deque(maxlen=log_size)
        self.counts = dict((op, 0) for op in OPERATIONS)
        self.skipped = 0
        self.bytes_written = 0
        self.bytes_read = 0
        self.elapsed = 0.0
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)

    # --- helpers -------------------------------------------------------------------------
    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _fail(self, what):
        raise error.TestFail("fsx (seed %s): %s" % (self.seed, what))

    def _compare(self, op, offset, length, expected, got):
        if got == expected:
            return
        if op == "verify":
            what = "whole-file check after op #%d (offset=%d length=%d)" % (
                self.opnum, offset, length)
        else:
            what = "op #%d %s offset=%d length=%d" % (self.opnum, op, offset, length)
        for i in range(min(len(got), len(expected))):
            if got[i] != expected[i]:
                where = "" if op == "verify" else " (byte %d of the %s)" % (i, op)
                self._fail("%s: first differing byte at file offset %d%s: "
                           "expected 0x%02x, got 0x%02x"
                           % (what, offset + i, where, expected[i], got[i]))
        self._fail("%s: got %d bytes where %d were expected (file size should be %d); first "
                   "differing byte at file offset %d"
                   % (what, len(got), len(expected), len(self.model),
                      offset + min(len(got), len(expected))))

    def _pread(self, length, offset):
        chunks = []
        while length > 0:
            data = os.pread(self.fd, length, offset)
            if not data:
                break
            chunks.append(data)
            length -= len(data)
            offset += len(data)
        data = b"".join(chunks)
        self.bytes_read += len(data)
        return data

    def _pwrite(self, data, offset):
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, offset)
            if n <= 0:
                self._fail("op #%d: pwrite at offset %d wrote %d bytes" % (self.opnum, offset, n))
            view = view[n:]
            offset += n
        self.bytes_written += len(data)

    def _resize_model(self, size):
        if size < len(self.model):
            del self.model[size:]
        else:
            self.model.extend(bytes(size - len(self.model)))

    def _range(self, limit):
        """A random (offset, length) with offset < limit and offset + length <= limit."""
        offset = self.rng.randrange(limit)
        length = min(self.rng.randint(1, self.max_op_size), limit - offset)
        return offset, length

    # --- operations ----------------------------------------------------------------------
    def _op_write(self):
        offset, length = self._range(self.max_file_size)
        data = self.rng.randbytes(length)
        self.log.append((self.opnum, "write", offset, length))
        self._pwrite(data, offset)
        if offset > len(self.model):
            self._resize_model(offset)
        self.model[offset:offset + length] = data

    def _op_read(self):
        size = len(self.model)
        if size == 0:
            offset, length = 0, self.rng.randint(1, self.max_op_size)
        else:
            offset = self.rng.randrange(size)
            # Sometimes read across the end of the file: the read must stop there.
            length = self.rng.randint(1, self.max_op_size)
            if self.rng.random() < 0.8:
                length = min(length, size - offset)
        self.log.append((self.opnum, "read", offset, length))
        got = self._pread(length, offset)
        self._compare("read", offset, length, bytes(self.model[offset:offset + length]), got)

    def _op_truncate(self):
        size = self.rng.randint(0, self.max_file_size)
        self.log.append((self.opnum, "truncate", 0, size))
        os.ftruncate(self.fd, size)
        self._resize_model(size)

    def _map(self, offset, length, access):
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        return mmap.mmap(self.fd, offset + length - start, access=access, offset=start), start

    def _op_mapread(self):
        size = len(self.model)
        if size == 0:
            self.skipped += 1
            self.log.append((self.opnum, "mapread-skipped", 0, 0))
            return
        offset, length = self._range(size)
        self.log.append((self.opnum, "mapread", offset, length))
        m, start = self._map(offset, length, mmap.ACCESS_READ)
        try:
            got = m[offset - start:offset - start + length]
        finally:
            m.close()
        self.bytes_read += len(got)
        self._compare("mapread", offset, length, bytes(self.model[offset:offset + length]), got)

    def _op_mapwrite(self):
        offset, length = self._range(self.max_file_size)
        data = self.rng.randbytes(length)
        sync = self.rng.random() < 0.1
        self.log.append((self.opnum, "mapwrite", offset, length))
        if offset + length > len(self.model):
            os.ftruncate(self.fd, offset + length)
            self._resize_model(offset + length)
        m, start = self._map(offset, length, mmap.ACCESS_WRITE)
        try:
            m[offset - start:offset - start + length] = data
            if sync:
                m.flush()
        finally:
            m.close()
        self.bytes_written += length
        self.model[offset:offset + length] = data

    def _op_reopen(self):
        sync = self.rng.random() < 0.25
        self.log.append((self.opnum, "reopen+fsync" if sync else "reopen", 0, len(self.model)))
        if sync:
            os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        self.fd = os.open(self.path, os.O_RDWR)

    # --- driver --------------------------------------------------------------------------
    def step(self):
        """Performs one random operation and checks the file's size afterwards."""
        self.opnum += 1
        op = self.rng.choices(self.ops, self.weights)[0]
        getattr(self, "_op_" + op)()
        self.counts[op] += 1
        size = os.fstat(self.fd).st_size
        if size != len(self.model):
            last = self.log[-1]
            self._fail("op #%d %s offset=%d length=%d: file size is %d, expected %d"
                       % (self.opnum, last[1], last[2], last[3], size, len(self.model)))

    def verify_file(self):
        """Compares the whole file with the model."""
        size = len(self.model)
        got = self._pread(size + 1, 0)
        self._compare("verify", 0, size, bytes(self.model), got)

    def run(self, ops):
        """Performs ``ops`` operations, then checks the whole file. Returns ``keyvals()``."""
        start = time.monotonic()
        try:
            for _ in range(int(ops)):
                self.step()
            self.verify_file()
        finally:
            self.elapsed += time.monotonic() - start
        return self.keyvals()

    def keyvals(self):
        """The perf keyvals of what was done so far."""
        done = sum(self.counts.values())
        result = {
            "ops": done,
            "bytes_written": self.bytes_written,
            "bytes_read": self.bytes_read,
            "elapsed": round(self.elapsed, 6),
            "ops_per_sec": round(done / self.elapsed, 3) if self.elapsed > 0 else 0.0,
            "ops_skipped": self.skipped,
        }
        for op in OPERATIONS:
            result["ops_" + op] = self.counts[op]
        return result

    def format_log(self):
        """The last operations, one a line."""
        return "".join("%6d %-16s offset=%d length=%d\n" % entry for entry in self.log)


class fsx(test.test):
    version = 2

    def initialize(self):
        self.results = None
        self.seed = None

    def run_once(self, dir=None, ops=3000, seed=None, max_file_size=256 * 1024,
                 max_op_size=64 * 1024):
        if seed is None:
            seed = time.time_ns() % (2 ** 32)
        self.seed = seed
        workdir = dir or self.tmpdir
        os.makedirs(workdir, exist_ok=True)
        path = os.path.join(workdir, "fsx.%d.data" % os.getpid())
        print("fsx: %d operations on %s, seed %s (job.run_test('fsx', seed=%s, ops=%d) "
              "replays them)" % (int(ops), path, seed, seed, int(ops)))
        engine = FsxEngine(path, seed, max_file_size=max_file_size, max_op_size=max_op_size)
        try:
            self.results = engine.run(ops)
        except error.TestFail:
            # The iteration ends here: record the seed now, and the last operations.
            self.write_attr_keyval({"seed": str(seed)})
            os.makedirs(self.debugdir, exist_ok=True)
            with open(os.path.join(self.debugdir, "fsx.oplog"), "w") as f:
                f.write("seed %s, file %s\n%s"
                        % (seed, path, engine.format_log()))
            raise
        finally:
            engine.close()
        os.unlink(path)

    def postprocess_iteration(self):
        if self.results is not None:
            # One block of results/keyval per iteration: the seed with the figures.
            self.write_iteration_keyval({"seed": str(self.seed)}, self.results)
            self.results = None
