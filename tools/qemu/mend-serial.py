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
with its rest, the first following line that is not a kernel message. The
rest may never come (the kernel crashed or jumped to the next one with the
line still in the tty's buffer): a KR- line is left cut when another KR- line
comes first, when a kernel line says the kernel is gone (a panic, a sysrq
crash, "Starting new kernel", a new boot's banner), or after 8 kernel lines.
The log as QEMU wrote it is kept beside it (serial.raw.log) when anything was
mended; the count of mended lines is printed.
"""
import os
import re
import sys

# A kernel log line's "[    1.431816] " prefix, after an optional CR.
STAMP = re.compile(rb"\[ *[0-9]+\.[0-9]+\] ")
# Kernel lines after which the rest of a split line never comes: the kernel
# that printed it crashed or jumped away, and what follows is another
# program's (purgatory's, the next kernel's) output.
GONE = re.compile(rb"Kernel panic|sysrq: Trigger a crash|Starting new kernel|Bye!|Linux version |Booting Linux")
# The rest comes as soon as the tty drains: a split line whose rest has not
# come after this many kernel lines is left cut.
PATIENCE = 8


def mend_indexed(lines):
    """The mended lines, each with the index in `lines` where it starts."""
    out, pending, mended = [], None, 0
    for i, line in enumerate(lines):
        if pending is not None:
            start, head, waited = pending
            if STAMP.match(line.lstrip(b"\r")):
                out.append((i, line))  # another kernel line before the rest
                if GONE.search(line) or waited + 1 >= PATIENCE:
                    out.append((start, head))  # the rest will not come
                    pending = None
                else:
                    pending = (start, head, waited + 1)
                continue
            pending = None
            if line.startswith(b"KR-"):
                out.append((start, head))  # a new line of init's: the rest is lost
            else:
                i, line = start, head + line
        m = STAMP.search(line) if line.startswith(b"KR-") else None
        if m is not None and m.start() > 0:
            out.append((i, line[m.start():]))
            mended += 1
            if GONE.search(line[m.start():]):
                out.append((i, line[: m.start()]))
            else:
                pending = (i, line[: m.start()], 0)
            continue
        out.append((i, line))
    if pending is not None:  # the log ended before the rest came
        out.append(pending[:2])
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
        # A crash cuts a line for good; then the capture kernel's init.
        b"KR-INFO pattern ready[    3.482728] sysrq: Trigger a crash\r",
        b"[    3.482800] Kernel panic - not syncing: sysrq triggered crash\r",
        b"KR-STAGE capture vmcore-pattern 7.3.4 uptime=1.78\r",
        # kexec -e: the new kernel's purgatory prints next, not the rest.
        b"KR-INFO kexec -e at[    5.000000] kexec_core: Starting new kernel\r",
        b"I'm in purgatory\r",
        # A new line of init's after a kernel line or two.
        b"KR-INFO a[    6.000000] one\r",
        b"KR-INFO b\r",
        # Too many kernel lines.
        b"KR-INFO c[    7.000000] 0\r",
    ] + [b"[    7.%06d] %d\r" % (n, n) for n in range(1, 9)] + [
        b"later output\r",
        # The crash a line or two after the split.
        b"KR-INFO d[    8.000000] lkdtm: Performing direct entry PANIC\r",
        b"[    8.000100] Kernel panic - not syncing: dumptest\r",
        b"I'm in purgatory\r",
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
        b"[    3.482728] sysrq: Trigger a crash\r",
        b"KR-INFO pattern ready",
        raw[10],
        raw[11],
        b"[    5.000000] kexec_core: Starting new kernel\r",
        b"KR-INFO kexec -e at",
        raw[13],
        b"[    6.000000] one\r",
        b"KR-INFO a",
        raw[15],
        b"[    7.000000] 0\r",
    ] + raw[17:25] + [
        b"KR-INFO c",
        raw[25],
        b"[    8.000000] lkdtm: Performing direct entry PANIC\r",
        raw[27],
        b"KR-INFO d",
        raw[28],
        b"[    4.000000] off by the end of the log",
        b"KR-PASS cut",
    ]
    got, mended = mend(raw)
    if got != want or mended != 8:
        for g, w in zip(got + [b""] * len(want), want):
            if g != w:
                print(f"mend-serial self-test: got {g!r}, want {w!r}")
                break
        print(f"mend-serial self-test: FAILED ({mended} mended, want 8)")
        sys.exit(1)
    print(f"mend-serial self-test: {len(raw)} lines, 8 split KR- lines mended (3 rejoined, 5 whose rest never came), the rest left alone")


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
