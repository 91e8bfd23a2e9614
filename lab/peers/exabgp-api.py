#!/usr/bin/env python3
"""ExaBGP API process used by the tests: lines written to a FIFO become ExaBGP commands, and
everything ExaBGP reports (JSON events) is appended to a file the test reads."""
import os
import sys
import threading

fifo, out = sys.argv[1], sys.argv[2]


def forward_commands():
    # Held open read-write so the FIFO never reports EOF: reopening it after each writer left
    # raced the next writer (its line was lost, or its write failed with EPIPE).
    with os.fdopen(os.open(fifo, os.O_RDWR), "r") as f:
        for line in f:
            sys.stdout.write(line if line.endswith("\n") else line + "\n")
            sys.stdout.flush()


threading.Thread(target=forward_commands, daemon=True).start()
with open(out, "a") as o:
    for line in sys.stdin:
        o.write(line)
        o.flush()
