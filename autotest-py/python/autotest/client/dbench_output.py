"""Output of the dbench suite (dbench and tbench print the same report): shared by the
built-in dbench and tbench tests."""

import re

__all__ = ["parse_dbench_output"]

_THROUGHPUT_RE = re.compile(
    r"^\s*Throughput\s+([0-9.]+)\s+MB/sec\s+(?:(\d+)\s+clients\s+)?(\d+)\s+procs"
    r"(?:\s+max_latency=([0-9.]+)\s+ms)?", re.M)
_OP_HEADER_RE = re.compile(r"^\s*Operation\s+Count\s+AvgLat\s+MaxLat\s*$")
_OP_ROW_RE = re.compile(r"^\s*([A-Za-z]\w*)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s*$")


def parse_dbench_output(text):
    """The figures of a dbench (or tbench) run, from its output.

    Returns a dict of numbers: ``throughput`` (MB/sec), ``procs``, and when the output has them
    (dbench 4) ``clients``, ``max_latency`` (ms) and ``<op>_count``/``<op>_avglat``/``<op>_maxlat``
    for each row of the operation table. Raises ValueError when there is no Throughput line.
    """
    matches = list(_THROUGHPUT_RE.finditer(text))
    if not matches:
        raise ValueError("no 'Throughput ... MB/sec ... procs' line in the output")
    m = matches[-1]
    result = {"throughput": float(m.group(1)), "procs": int(m.group(3))}
    if m.group(2) is not None:
        result["clients"] = int(m.group(2))
    if m.group(4) is not None:
        result["max_latency"] = float(m.group(4))

    in_table = False
    for line in text[:m.start()].splitlines():
        if _OP_HEADER_RE.match(line):
            in_table = True
            continue
        if not in_table:
            continue
        row = _OP_ROW_RE.match(line)
        if row:
            op = row.group(1).lower()
            result[op + "_count"] = int(row.group(2))
            result[op + "_avglat"] = float(row.group(3))
            result[op + "_maxlat"] = float(row.group(4))
    return result
