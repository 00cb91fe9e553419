#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Put back together the guest's KR- lines that a kernel message split.

usage: mend-serial.py SERIAL_LOG | --self-test

The guest's init writes its KR- lines through the tty while the kernel prints
straight to the same serial port, so a printk can land in the middle of one:

    KR-STAGE 1 crash[    1.431816] input: ImExPS/2 Generic Explorer Mouse ...
    -types 7.3.4 uptime=1.46

Every reader of the log matches whole KR- lines, so such a line is mended in
place: the kernel's message goes on its own line and the KR- line is joined
with its rest (the first following line that is not a kernel message).
The log as QEMU wrote it is kept beside it (serial.raw.log) when anything was
mended; the count of mended lines is printed.
"""
import os
import re
import sys

# A kernel log line's "[    1.431816] " prefix, after an optional CR.
STAMP = re.compile(rb"\[ *[0-9]+\.[0-9]+\] ")


def mend_indexed(lines):
    """The mended lines, each with the index in `lines` where it starts."""
    out, pending, mended = [], None, 0
    for i, line in enumerate(lines):
        if pending is not None:
            if STAMP.match(line.lstrip(b"\r")):
                out.append((i, line))  # another kernel line before the rest
                continue
            (i, head), pending = pending, None
            line = head + line
        m = STAMP.search(line) if line.startswith(b"KR-") else None
        if m is not None and m.start() > 0:
            out.append((i, line[m.start():]))
            pending = (i, line[: m.start()])
            mended += 1
            continue
        out.append((i, line))
    if pending is not None:  # the log ended before the rest came
        out.append(pending)
    return out, mended


def mend(lines):
    out, mended = mend_indexed(lines)
    return [line for _, line in out], mended


def self_test():
    raw = [
        b"[    1.250075] Run /init as init process\r",
        b"KR-STAGE 1 crash[    1.431816] input: ImExPS/2 Generic Explorer Mouse\r",
        b"\r[    1.431900] a second kernel line before the rest\r",
        b"-types 7.3.4 uptime=1.46\r",
        b"KR-INFO cpus=2[    2.000000] split at the line's end\r",
        b"\r",
        b"[    2.100000] a kernel line quoting [    0.000000] stays\r",
        b"I'm in purgatory [    3.000000] (not a KR- line: left as it is)\r",
        b"KR-DONE kexec stage=2\r",
        b"KR-PASS cut[    4.000000] off by the end of the log",
    ]
    want = [
        raw[0],
        b"[    1.431816] input: ImExPS/2 Generic Explorer Mouse\r",
        raw[2],
        b"KR-STAGE 1 crash-types 7.3.4 uptime=1.46\r",
        b"[    2.000000] split at the line's end\r",
        b"KR-INFO cpus=2\r",
        raw[6],
        raw[7],
        raw[8],
        b"[    4.000000] off by the end of the log",
        b"KR-PASS cut",
    ]
    got, mended = mend(raw)
    if got != want or mended != 3:
        for g, w in zip(got + [b""] * len(want), want):
            if g != w:
                print(f"mend-serial self-test: got {g!r}, want {w!r}")
                break
        print(f"mend-serial self-test: FAILED ({mended} mended, want 3)")
        sys.exit(1)
    print(f"mend-serial self-test: {len(raw)} lines, 3 split KR- lines mended, the rest left alone")


def main():
    if sys.argv[1] == "--self-test":
        self_test()
        return
    path = sys.argv[1]
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    out, mended = mend(lines)
    if mended:
        root, ext = os.path.splitext(path)
        raw = root + ".raw" + ext
        os.replace(path, raw)
        with open(path, "wb") as f:
            f.write(b"\n".join(out))
    print(mended)


if __name__ == "__main__":
    main()
