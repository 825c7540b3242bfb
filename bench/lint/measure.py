"""Run a command and report its wall time, CPU time and peak RSS.

``python measure.py -- CMD ARGS...`` prints one line ``WALL CPU RSS_MIB RC`` and then the
command's stdout; the command's stderr passes through.  CPU and RSS come from ``wait4`` on
that one child, so they are the command's own, not the benchmark process's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    rss_mib = usage.ru_maxrss / 1024  # KiB on Linux
    sys.stdout.write(f"{wall:.4f} {cpu:.4f} {rss_mib:.1f} {proc.returncode}\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
