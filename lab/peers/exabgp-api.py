#!/usr/bin/env python3
"""ExaBGP API process used by the tests: lines written to a FIFO become ExaBGP commands, and
everything ExaBGP reports (JSON events) is appended to a file the test reads."""
import sys
import threading

fifo, out = sys.argv[1], sys.argv[2]


def forward_commands():
    while True:
        # open() blocks until the test opens the FIFO for writing; EOF when it closes it.
        with open(fifo) as f:
            for line in f:
                sys.stdout.write(line if line.endswith("\n") else line + "\n")
                sys.stdout.flush()


threading.Thread(target=forward_commands, daemon=True).start()
with open(out, "a") as o:
    for line in sys.stdin:
        o.write(line)
        o.flush()
