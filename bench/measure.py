"""Runs a command and reports what it used, for `npm run bench`, without watching it meanwhile.

Usage: python3 measure.py REPORT_FD COMMAND [ARG...]

Runs COMMAND as its child (standard streams passed through), forwards SIGTERM and SIGINT to it,
and once it has ended writes one JSON line to file descriptor REPORT_FD: its exit code, the
seconds from its start to its end, and from getrusage(RUSAGE_CHILDREN) its CPU seconds (user plus
system) and peak resident memory in bytes. Polling /proc from the bench instead cost the machine
10-25 % of a core during every transfer it watched, and the reference pair it did not watch.
"""
import json
import os
import resource
import signal
import subprocess
import sys
import time


def main():
    report = int(sys.argv[1])
    # What this process's earlier children used (a launcher such as pyenv's shim runs some before
    # it becomes this interpreter, and the count survives exec): only the difference is the command's.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    child = subprocess.Popen(sys.argv[2:])
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _frame: child.send_signal(s))
    code = child.wait()
    seconds = time.monotonic() - started
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = json.dumps({
        "code": code,
        "seconds": seconds,
        "cpu": (used.ru_utime + used.ru_stime) - (before.ru_utime + before.ru_stime),
        # The largest of all children: the command's, unless a launcher's was larger.
        "peak": used.ru_maxrss * 1024,  # KiB on Linux
    })
    os.write(report, (line + "\n").encode())
    sys.exit(0 if code == 0 else 1)


if __name__ == "__main__":
    main()
