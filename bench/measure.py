"""Run one command; write its wall time and peak resident memory as JSON: ``python -S
measure.py RESULT_JSON COMMAND...`` (exit status: the command's). With ``BENCH_CPUS`` set
(comma-separated CPU numbers) the command runs on those CPUs only (``bench_sbas.py --cores``).

The peak (``ru_maxrss``) of a process counts what it had resident before its ``exec``, so a
command forked from the benchmark's own large process would inherit that process's peak. Forked
from this small one (``-S``: no site packages, a few MiB), it reports its own.
"""

import json
import os
import sys
import time


def main() -> int:
    result, command = sys.argv[1], sys.argv[2:]
    cpus = os.environ.get("BENCH_CPUS")
    if cpus:  # inherited by the command's process and its threads
        os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    with open(result, "w") as handle:
        json.dump({"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024.0}, handle)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
