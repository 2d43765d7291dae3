"""The anchor for status-log parsing: the way legacy Autotest's Python tko parser reads a status
log (indentation count, TAB split, optional key=value fields, message, extra lines), timed on the
same file the criterion bench parses. Prints the median MB/s of N runs."""

import statistics
import sys
import time


def parse(text):
    entries = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip("\t"))
        body = line[indent:]
        if body.startswith("  "):
            if entries:
                entries[-1][5].append(body[2:])
            continue
        parts = body.split("\t")
        if len(parts) < 4:
            continue
        status, subdir, testname = parts[0], parts[1], parts[2]
        fields = {}
        for part in parts[3:-1]:
            key, sep, value = part.partition("=")
            if sep:
                fields[key] = value
        entries.append((indent, status, None if subdir == "----" else subdir,
                        None if testname == "----" else testname, fields, [parts[-1]]))
    return entries


def main(path, runs=5):
    with open(path) as f:
        text = f.read()
    mb = len(text.encode()) / (1024 * 1024)
    times = []
    for _ in range(int(runs)):
        t0 = time.perf_counter()
        parse(text)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print("legacy-style Python parse: %.1f MiB in %.3f s median of %d -> %.1f MiB/s"
          % (mb, med, len(times), mb / med))
    # For the store benchmark (benches/benches/store_parse.rs), which times small logs.
    print("median_seconds=%.6f" % med)


if __name__ == "__main__":
    main(*sys.argv[1:])
