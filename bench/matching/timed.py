"""Runs a command and prints its wall and CPU (user + system) seconds: `wall cpu`.

Usage: timed.py OUTFILE COMMAND [ARGS...]; the command's own output passes through.
"""

import resource
import subprocess
import sys
import time


def main() -> None:
    out, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    code = subprocess.call(cmd)
    wall = time.perf_counter() - start
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        f.write(f"{wall:.2f} {r.ru_utime + r.ru_stime:.2f}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
