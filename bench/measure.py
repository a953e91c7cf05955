"""Run one command; write its wall time and peak resident memory as JSON: ``python -S
measure.py RESULT_JSON COMMAND...`` (exit status: the command's).

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
