#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Benchmarks: the rust kernel against the stock kernel, side by side, in one run.

Run through tools/bench/run.sh, which builds nothing beyond the harness's two kernels
and initramfs images. For each repetition, stock then rust (A B A B ...):

  load      kexec_load(2) of the kernel plus a random 16, 64 and 256 MiB initrd,
            REPS loads each, timed in the guest (CLOCK_MONOTONIC around the call);
            the metric is the median of a boot's loads.
  fileload  kexec_file_load(2) of the kernel plus a random 64 and 256 MiB initrd
            file, in the same boot, the same way.
  reboot    `kexec -e` to the second kernel's /init: host clock on the serial
            lines "KR-INFO kexec -e at ..." and "KR-STAGE 2 ...", after
            kexec -l (kexec_load) and, as reboot_file, after kexec -s -l
            (kexec_file_load: purgatory checks the segments' SHA-256 first).
  copy      the relocate stub's copy of the kernel plus a 64 MiB random initrd
            (the kexec-big image, loaded with kexec -l --console-serial): host
            clock from the kernel's "Starting new kernel" to purgatory's
            "I'm in purgatory", so machine_shutdown, the stub (mostly its
            copy) and purgatory's first steps; the second kernel then checks
            the data's sha256. COPIES boots per repetition, their median.
  capture   sysrq crash to the capture kernel's /init: host clock on
            "KR-INFO crash at ..." and "KR-STAGE capture ...".
  vmcore    /proc/vmcore read in the capture kernel with read() and 4 KiB,
            64 KiB, 1 MiB buffers and with mmap(), guest clock, 1 GiB first kernel.
  limit     the guest's own copy speed, in the bench-load boot: memcpy() of
            256 MiB and a page-by-page 8-byte copy loop (median of 5 each); the
            report shows the copy paths' throughputs as fractions of both.
With --icount-reps N (default 10) the full run then repeats all but the
copy under QEMU's -icount (see icount_series), the noise-free column, whose
reboot and crash latencies come from the guest's time-stamp counter; with
--icount-only N that alone, beside the committed host-clock results.
With --parts N instead: the kexec -e reboot and the crash to capture, part by
part, from the serial lines each stage prints (PARTS), N boots per kernel.
With --growth N instead: how each cost grows, kexec_load and kexec_file_load
against the initrd's size (16-512 MiB in a 2 GiB guest, 16-1024 MiB in a
4 GiB one: a 1 GiB initrd needs room twice, in the caller and in the image,
and stock refuses images over half of memory) and the whole /proc/vmcore read against the first
kernel's memory (1, 2, 4 GiB), N boots per kernel and point, with plots.
Each metric's rust/stock ratio gets a 95% bootstrap interval over the
repetitions' pairs, and a verdict from it (see verdict()).
Then, per kernel, the smallest crashkernel= (4 MiB grid) with which the capture
kernel boots and reads all of /proc/vmcore, by bisection. QEMU runs with
-mem-prealloc, so that host page faults on guest RAM touched for the first time
do not count as guest time.

Writes results/bench/results.json, results/bench/chart.png and
Documentation/benchmarks.md. Every number in them is measured by this run.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import threading
import time

# The guest's KR- lines mended where a kernel message split one
# (tools/qemu/mend-serial.py, which the test runner uses too).
_spec = importlib.util.spec_from_file_location(
    "mend_serial", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qemu", "mend-serial.py"))
mend_serial = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mend_serial)

FLAVOURS = ("stock", "rust")

# name: (title, unit, better) -- better is "lower" or "higher".
METRICS = {
    "load_16": ("kexec_load, kernel + 16 MiB initrd", "ms", "lower"),
    "load_64": ("kexec_load, kernel + 64 MiB initrd", "ms", "lower"),
    "load_256": ("kexec_load, kernel + 256 MiB initrd", "ms", "lower"),
    "fileload_64": ("kexec_file_load, kernel + 64 MiB initrd", "ms", "lower"),
    "fileload_256": ("kexec_file_load, kernel + 256 MiB initrd", "ms", "lower"),
    "reboot": ("kexec -e to second kernel's init", "ms", "lower"),
    "reboot_file": ("kexec -s -l, kexec -e to second kernel's init", "ms", "lower"),
    "copy_64": ("relocate stub: kernel + 64 MiB initrd into place", "ms", "lower"),
    "crash_to_capture": ("sysrq crash to capture kernel's init", "ms", "lower"),
    "vmcore_read4k": ("/proc/vmcore read(), 4 KiB buffer", "MB/s", "higher"),
    "vmcore_read64k": ("/proc/vmcore read(), 64 KiB buffer", "MB/s", "higher"),
    "vmcore_read1m": ("/proc/vmcore read(), 1 MiB buffer", "MB/s", "higher"),
    "vmcore_mmap": ("/proc/vmcore mmap()", "MB/s", "higher"),
    "memcpy_256m": ("guest memcpy() of 256 MiB (the limit; kernel-independent)", "MB/s", "higher"),
    "copyloop_page": ("guest page-by-page 8-byte copy loop (the limit)", "MB/s", "higher"),
}

# Bytes of segments the relocate stub copies in the copy_64 metric.
COPY_BYTES = 75 * 2**20


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Run:
    """One QEMU boot with the serial console stamped by the host's clock."""

    def __init__(self, args, flavour, scenario, mem, extra="", timeout=240):
        self.flavour, self.scenario = flavour, scenario
        if flavour == "baseline":
            # An earlier rust build kept aside (--baseline DIR: bzImage, initrd.cpio.gz).
            bz = os.path.join(args.baseline, "bzImage")
            initrd = os.path.join(args.baseline, "initrd.cpio.gz")
        elif flavour.startswith("arm64-"):
            bz = os.path.join(args.build, flavour, "arch/arm64/boot/Image")
            initrd = os.path.join(args.out, f"{flavour}.cpio.gz")
        else:
            bz = os.path.join(args.build, flavour, "arch/x86/boot/bzImage")
            initrd = os.path.join(args.out, f"{flavour}.cpio.gz")
        if flavour.startswith("arm64-"):
            # The tier's virt machine (tools/qemu/run-scenario.sh says why each option).
            append = f"console=ttyAMA0 panic=-1 krscenario={scenario} {extra}".strip()
            machine = ["qemu-system-aarch64", "-accel", "tcg", "-machine",
                       "virt,gic-version=3,its=off,dtb-randomness=off", "-cpu", "max,pauth-impdef=on"]
        else:
            append = f"console=ttyS0 panic=-1 krscenario={scenario} {extra}".strip()
            machine = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-cpu", "max"]
        cmd = machine + [
               "-smp", "2", "-m", mem, "-kernel", bz, "-initrd", initrd, "-append", append,
               "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
               # Guest RAM allocated up front: otherwise the first touch of each
               # guest page costs a host page fault, which made up half of the
               # copy_64 time and most of its spread.
               "-mem-prealloc"]
        if getattr(args, "icount", None) is not None:
            # Guest time from the executed instructions (2^shift ns each), not
            # the host's clock; sleep=off: an idle guest's clock jumps to its
            # next timer at once. The guest stamps the time-stamp counter
            # (krtsc) where the host clock would have been used.
            cmd += ["-icount", f"shift={args.icount},sleep=off"]
            timeout *= 3  # one host thread for both vCPUs
            append += " krtsc=1 krkeep=krtsc=1"
            cmd[cmd.index("-append") + 1] = append
        self.lines = []  # (seconds since start, text)
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        # Each line is stamped with the arrival of its first byte, not of its
        # newline: the decompressor prints "Decompressing Linux... " and only
        # after decompressing "done.", on the same line.
        fd, buf, t_line = p.stdout.fileno(), b"", None
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            now = time.monotonic() - start
            while chunk:
                if t_line is None:
                    t_line = now
                nl = chunk.find(b"\n")
                if nl < 0:
                    buf += chunk
                    break
                buf += chunk[:nl]
                self.lines.append((t_line, buf.decode(errors="replace").rstrip("\r")))
                buf, t_line, chunk = b"", None, chunk[nl + 1:]
        if buf:
            self.lines.append((t_line, buf.decode(errors="replace").rstrip("\r")))
        mended, _ = mend_serial.mend_indexed([line.encode() for _, line in self.lines])
        self.lines = [(self.lines[i][0], line.decode()) for i, line in mended]
        self.rc = p.wait()
        self.timed_out = not timer.is_alive() and self.rc != 0
        timer.cancel()
        d = os.path.join(args.out, "bench", flavour)
        os.makedirs(d, exist_ok=True)
        self.log_path = os.path.join(d, f"{scenario}{('-' + extra.replace(' ', '_')) if extra else ''}.log")
        with open(self.log_path, "w") as f:
            for t, line in self.lines:
                f.write(f"{t:9.3f} {line}\n")

    def first(self, pattern):
        """(time, match) of the first line matching `pattern`, or (None, None)."""
        rx = re.compile(pattern)
        for t, line in self.lines:
            m = rx.search(line)
            if m:
                return t, m
        return None, None

    def ok(self, stage):
        return (self.first(r"^KR-FAIL")[0] is None
                and self.first(rf"^KR-DONE {re.escape(self.scenario)} stage={stage}\b")[0] is not None)

    def fail(self, why):
        tail = "\n".join(line for _, line in self.lines[-25:])
        raise SystemExit(f"{self.flavour} {self.scenario}: {why}\n(serial log: {self.log_path})\n{tail}")


def tsc_span(r, end):
    """Guest ms from the last time-stamp counter stamp (krtsc: "KR-INFO tsc=T
    mono_ns=N") before the serial line matching `end`, the next kernel's first
    line, to the first stamp after it, the next kernel's. The first kernel's
    last stamp is printed just before `kexec -e` or the crash (its own line
    saying so may be lost: the crash can come before the UART sent it). The
    counter runs on across a kexec; its ticks are turned into time with the
    rate between the first kernel's first and last stamps and its monotonic
    clock."""
    rx_e = re.compile(end)
    stamps, i_e = [], None
    for i, (_, line) in enumerate(r.lines):
        m = re.match(r"KR-INFO tsc=(\d+) mono_ns=(\d+)", line)
        if m:
            stamps.append((i, int(m.group(1)), int(m.group(2))))
        elif i_e is None and rx_e.search(line):
            i_e = i
    if i_e is None:
        r.fail(f"no line matching {end!r}")
    before = [st for st in stamps if st[0] < i_e]
    after = [st for st in stamps if st[0] > i_e]
    if len(before) < 2 or not after:
        r.fail("missing time-stamp counter lines (krtsc)")
    (_, t0, n0), (_, t1, n1) = before[0], before[-1]
    per_ns = (t1 - t0) / (n1 - n0)
    return (after[0][1] - t1) / per_ns / 1e6


def span(args, r, start, end):
    """ms from the serial line matching `start` to the first one after it
    matching `end`: the host's clock on the lines, or under --icount the
    guest's time-stamp counter (tsc_span)."""
    if args.icount is not None:
        return tsc_span(r, end)
    t0, _ = r.first(start)
    t1, _ = r.first(end)
    if t0 is None or t1 is None:
        r.fail(f"no line matching {start!r} or {end!r}")
    return (t1 - t0) * 1e3


def copy_time(args, flavour, with_bytes=False):
    """One boot of bench-copy: ms from "Starting new kernel" to purgatory's
    "I'm in purgatory" (kexec -l --console-serial); on arm64 from
    machine_kexec's "Bye!", printed just before the jump, to the same line
    (kexec -l --serial=ttyAMA0), so the stub's copy and cache cleaning, the
    MMU switched off and purgatory's start. With `with_bytes`, also the bytes
    copied (the guest says)."""
    r = Run(args, flavour, "bench-copy", "1G")
    if not r.ok("2"):
        r.fail("the 64 MiB image did not arrive intact in the second kernel")
    t0, _ = r.first(r"\bBye!" if flavour.startswith("arm64-") else r"Starting new kernel")
    t1, _ = r.first(r"I'm in purgatory")
    if t0 is None or t1 is None:
        r.fail("no start line ('Starting new kernel', 'Bye!') or no purgatory line")
    if not with_bytes:
        return (t1 - t0) * 1e3
    return (t1 - t0) * 1e3, int(need(r, r"^KR-INFO copy_bytes=(\d+)", "copy_bytes")[0])


def one_rep(args, flavour):
    """Every latency and throughput metric once for `flavour`."""
    m = {}
    r = Run(args, flavour, "bench-load", "2G", f"krreps={args.loads}")
    if not r.ok("1"):
        r.fail("bench-load did not finish")
    for size in (16, 64, 256):
        _, mt = r.first(rf"^BENCH load_{size} .*median=([0-9.]+)")
        if not mt:
            r.fail(f"no load_{size} result")
        m[f"load_{size}"] = float(mt.group(1))
    for size in (64, 256):
        m[f"fileload_{size}"] = float(need(r, rf"^BENCH fileload_{size} .*median=([0-9.]+)", f"fileload_{size}")[0])
    for name in ("memcpy_256m", "copyloop_page"):
        m[name] = float(need(r, rf"^BENCH {name} mbps=([0-9.]+)", name)[0])

    r = Run(args, flavour, "kexec", "1G")
    if not r.ok("2"):
        r.fail("the second kernel did not reach init")
    m["reboot"] = span(args, r, r"^KR-INFO kexec -e at", r"^KR-STAGE 2 ")

    r = Run(args, flavour, "kexec-file", "1G")
    if not r.ok("2"):
        r.fail("the second kernel did not reach init after kexec -s -l")
    m["reboot_file"] = span(args, r, r"^KR-INFO kexec -e at", r"^KR-STAGE 2 ")

    # The copy is short and its boots noisy: the median of several per
    # repetition. (None under --icount: its end is purgatory's line, which
    # has no guest clock beside it.)
    if args.copies:
        m["copy_64"] = statistics.median(copy_time(args, flavour) for _ in range(args.copies))

    r = Run(args, flavour, "bench-kdump", "1G", f"crashkernel={args.crashkernel}")
    if not r.ok("capture"):
        r.fail("the capture kernel did not finish")
    m["crash_to_capture"] = span(args, r, r"^KR-INFO crash at", r"^KR-STAGE capture ")
    for mode in ("read4k", "read64k", "read1m", "mmap"):
        _, mt = r.first(rf"^BENCH vmcore_{mode} bytes=(\d+) .*mbps=([0-9.]+)")
        if mt:
            m[f"vmcore_{mode}"] = float(mt.group(2))
            m["vmcore_bytes"] = int(mt.group(1))
    return m


ARM64 = ("arm64-stock", "arm64-rust")

# The arm64 rows: name -> (title, unit, better), as METRICS.
ARM64_METRICS = {
    "load_16": METRICS["load_16"], "load_64": METRICS["load_64"], "load_256": METRICS["load_256"],
    "reboot": METRICS["reboot"],
    "copy_64": ("relocate stub: kernel + 64 MiB initrd into place (Bye! to purgatory)", "ms", "lower"),
    "copy_mbps": ("relocate stub's copy speed", "MB/s", "higher"),
    "crash_to_capture": METRICS["crash_to_capture"],
    "vmcore_read1m": METRICS["vmcore_read1m"],
    "memcpy_256m": METRICS["memcpy_256m"],
}


def arm64_rep(args, flavour):
    """One repetition of the arm64 rows for `flavour` (arm64-stock, arm64-rust)."""
    m = {}
    r = Run(args, flavour, "bench-load", "2G", f"krreps={args.loads}", timeout=600)
    if not r.ok("1"):
        r.fail("bench-load did not finish")
    for size in (16, 64, 256):
        m[f"load_{size}"] = float(need(r, rf"^BENCH load_{size} .*median=([0-9.]+)", f"load_{size}")[0])
    m["memcpy_256m"] = float(need(r, r"^BENCH memcpy_256m mbps=([0-9.]+)", "memcpy_256m")[0])
    r = Run(args, flavour, "kexec", "1G", timeout=400)
    if not r.ok("2"):
        r.fail("the second kernel did not reach init")
    m["reboot"] = span(args, r, r"^KR-INFO kexec -e at", r"^KR-STAGE 2 ")
    copies = [copy_time(args, flavour, with_bytes=True) for _ in range(args.copies)]
    m["copy_64"] = statistics.median(ms for ms, _ in copies)
    m["copy_mbps"] = statistics.median(b / (ms / 1e3) / 1e6 for ms, b in copies)
    r = Run(args, flavour, "bench-kdump", "1G", f"crashkernel={args.crashkernel}", timeout=600)
    if not r.ok("capture"):
        r.fail("the capture kernel did not finish")
    m["crash_to_capture"] = span(args, r, r"^KR-INFO crash at", r"^KR-STAGE capture ")
    m["vmcore_read1m"] = float(need(r, r"^BENCH vmcore_read1m bytes=\d+ .*mbps=([0-9.]+)", "vmcore_read1m")[0])
    return m


def arm64_series(args, reps):
    """The arm64 rows: `reps` repetitions of arm64_rep, the kernels
    alternating; writes results/bench/arm64.{txt,json} and its section."""
    samples = {f: [] for f in ARM64}
    for rep in range(reps):
        for f in ARM64:
            log(f"arm64 repetition {rep + 1}/{reps}: {f}")
            m = arm64_rep(args, f)
            samples[f].append(m)
            log("  " + ", ".join(f"{k}={v:.1f}" for k, v in m.items()))
    metrics = {}
    for name in ARM64_METRICS:
        entry = {f: summarise([s[name] for s in samples[f]]) for f in ARM64}
        entry["ratio"] = entry["arm64-rust"]["median"] / entry["arm64-stock"]["median"]
        entry["ci"] = pair_ratio_ci(entry["arm64-rust"]["samples"], entry["arm64-stock"]["samples"])
        metrics[name] = entry
    info = machine_info(args)
    qemu = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    lines = [f"Measured {info['date']} on {info['host']}; {qemu}, TCG, `-machine virt,gic-version=3,its=off "
             f"-cpu max,pauth-impdef=on`, 2 vCPUs; kernel {info['kernel']}, arm64-stock against arm64-rust "
             "(ours with the arm64 machine_kexec, relocate stub and kexec_file_load; these rows load with kexec_load).",
             f"{reps} repetitions per kernel, alternating; {args.loads} loads per boot, {args.copies} copy boots "
             "per repetition (their median); host clock on the serial lines, as in the x86 table. The copy "
             "runs from machine_kexec's `Bye!` to kexec-tools' purgatory's first line (`kexec -l "
             "--serial=ttyAMA0`): the stub's copy of the kernel and the 64 MiB initrd with the MMU on, the "
             "cleaning of every page to the point of coherency, the MMU switched off and purgatory's start; "
             "its speed is the bytes the guest loaded over that time. Cells: median (min-max); the ratio "
             "arm64-rust/arm64-stock with its 95% bootstrap interval over the pairs and the verdict as above.",
             "", "| metric | unit | arm64-stock | arm64-rust | rust/stock | 95% interval | verdict |",
             "|---|---|---|---|---|---|---|"]
    cell = lambda x: f"{fmt(x['median'])} ({fmt(x['min'])}-{fmt(x['max'])})"
    for name, (title, unit, better) in ARM64_METRICS.items():
        e = metrics[name]
        lo, hi = e["ci"]
        lines.append(f"| {title} | {unit} | {cell(e['arm64-stock'])} | {cell(e['arm64-rust'])} | "
                     f"{e['ratio']:.3f} | {lo:.3f}-{hi:.3f} | {verdict(lo, hi, better)} |")
    memcpy = statistics.median(metrics["memcpy_256m"][f]["median"] for f in ARM64)
    lines += ["", "The stub's copy against the guest's own memcpy() of 256 MiB (the median of both kernels' "
              f"boots, {memcpy:.0f} MB/s): "
              + ", ".join(f"{f} {metrics['copy_mbps'][f]['median'] / memcpy:.2f}" for f in ARM64)
              + " of it. (Under TCG no cache is modelled: a `dc civac` costs an instruction, not a write-back.)",
              ""]
    write_mode(args, "arm64", {"machine": info, "qemu": qemu, "reps": reps, "loads": args.loads,
                               "copies": args.copies, "metrics": metrics}, "arm64 (QEMU virt)", lines)


def rep_metrics(args, reps):
    """`reps` repetitions of one_rep, the kernels alternating: ({metric:
    {kernel: summary, "ratio", "ci"}}, the vmcore's size in bytes)."""
    samples = {f: [] for f in FLAVOURS}
    vmcore_bytes = 0
    for rep in range(reps):
        for f in FLAVOURS:
            log(f"repetition {rep + 1}/{reps}: {f}" + (" (-icount)" if args.icount is not None else ""))
            m = one_rep(args, f)
            vmcore_bytes = m.pop("vmcore_bytes", vmcore_bytes)
            samples[f].append(m)
            log("  " + ", ".join(f"{k}={v:.1f}" for k, v in m.items()))
    metrics = {}
    for name in METRICS:
        if not all(name in s for f in FLAVOURS for s in samples[f]):
            continue
        entry = {f: summarise([s[name] for s in samples[f]]) for f in FLAVOURS}
        entry["ratio"] = entry["rust"]["median"] / entry["stock"]["median"]
        entry["ci"] = pair_ratio_ci(entry["rust"]["samples"], entry["stock"]["samples"])
        metrics[name] = entry
    return metrics, vmcore_bytes


def icount_series(args, reps):
    """The noise-free column: the full run's metrics again with QEMU's
    instruction counting (-icount shift=ICOUNT_SHIFT,sleep=off), `reps`
    repetitions, the kernels alternating, beside the host-clock run's ratios
    (results/bench/results.json). Writes results/bench/icount.{txt,json} and
    the icount section of Documentation/benchmarks.md."""
    args.icount, args.copies, args.loads = args.icount_shift, 0, args.icount_loads
    metrics, _ = rep_metrics(args, reps)
    try:
        with open(os.path.join(args.results, "results.json")) as f:
            wall = json.load(f)
    except OSError:
        wall = {"metrics": {}, "machine": {"date": "none"}}
    info = machine_info(args)
    ns = 2 ** args.icount_shift
    lines = [f"Measured {info['date']} on {info['host']}; {info['qemu']} with `-icount shift={args.icount_shift},"
             f"sleep=off` (single-threaded TCG); kernel {info['kernel']}.",
             f"{reps} repetitions per kernel, alternating; {args.icount_loads} loads per boot. The guest's "
             f"clocks follow the instructions it executes, {ns} ns each (a machine running one instruction per "
             f"{'nanosecond' if ns == 1 else f'{ns} ns'}), not the host's clock: the host's load and its "
             "scheduling do not reach these figures. The reboot and crash latencies are taken from the guest's "
             "time-stamp counter (which QEMU derives from the same count, and which a kexec does not reset), "
             "read just before `kexec -e` or the crash and again by the next kernel's /init. Cells: median "
             "(min-max) over the repetitions; the ratio rust/stock with its 95% bootstrap interval over the "
             "pairs and the verdict as above; beside it the host-clock run's ratio and verdict "
             f"(`results.json`, {wall['machine']['date']}).", "",
             "| metric | unit | stock | rust | rust/stock | 95% interval | verdict | host-clock ratio | host-clock verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, (title, unit, better) in METRICS.items():
        w = wall["metrics"].get(name)
        wcell = (f"{w['ratio']:.3f} | {verdict(*w['ci'], better)}") if w else "n/a | n/a"
        if name not in metrics:
            lines.append(f"| {title} | {unit} | n/a | n/a | n/a | | | {wcell} |")
            continue
        e = metrics[name]
        cell = lambda x: f"{fmt(x['median'])} ({fmt(x['min'])}-{fmt(x['max'])})"
        lo, hi = e["ci"]
        lines.append(f"| {title} | {unit} | {cell(e['stock'])} | {cell(e['rust'])} | {e['ratio']:.3f} | "
                     f"{lo:.3f}-{hi:.3f} | {verdict(lo, hi, better)} | {wcell} |")
    spread = {f: statistics.median(e[f]["spread"] for e in metrics.values()) for f in FLAVOURS}
    wspread = {f: statistics.median(e[f]["spread"] for e in wall["metrics"].values())
               for f in FLAVOURS} if wall["metrics"] else None
    lines += ["", "Spread, (max-min)/median, the median over the metrics: "
              + ", ".join(f"{f} {100 * spread[f]:.1f}%" for f in FLAVOURS) + " under -icount"
              + ("; " + ", ".join(f"{f} {100 * wspread[f]:.1f}%" for f in FLAVOURS) + " with the host's clock."
                 if wspread else ".")]
    limit = limits(metrics)
    if limit:
        lines += ["", "Against the guest's own copy speed under -icount (medians):", "",
                  "| path | kernel | MB/s | of memcpy() | of the page loop |", "|---|---|---|---|---|"]
        lines += [f"| {path} | {k} | {v:.0f} | {v / limit['memcpy']:.2f} | {v / limit['loop']:.2f} |"
                  for path, k, v in limit["rows"]]
    lines += ["", "What this column does not capture: the time an instruction takes. Every instruction costs "
              f"the same {ns} ns, so cache and TLB misses, memory bandwidth, the width of a move "
              "(a 32-byte vector move costs what a one-byte one does: hence memcpy()'s figure, far above "
              "the 8-byte page loop's) and the cost of a division against an addition are not in it; nor is time spent "
              "outside the guest's instructions: the host's devices (the serial port, the disk) answer in no "
              "guest time, and an idle guest's clock jumps to its next timer at once (sleep=off). It weighs "
              "code paths by the work they execute; the host-clock column weighs them by the time they take "
              "on this machine's TCG. The relocate stub's copy has no figure here: it ends at purgatory's "
              "serial line, with no guest clock beside it (the reboot latency holds it).", ""]
    write_mode(args, "icount", {"machine": info, "reps": reps, "loads": args.icount_loads,
                                "shift": args.icount_shift, "metrics": metrics}, "The noise-free column: -icount",
               lines)


def capture_works(args, flavour, mib):
    r = Run(args, flavour, "kdump-min", "1G", f"crashkernel={mib}M", timeout=args.min_timeout)
    ok = r.ok("capture")
    log(f"  {flavour} crashkernel={mib}M: {'capture OK' if ok else 'no capture'}")
    return ok


def smallest_crashkernel(args, flavour):
    """Bisection on a 4 MiB grid; the top of the range must work."""
    lo, hi = args.min_lo, args.min_hi  # lo: assumed failing, hi: must work
    if not capture_works(args, flavour, hi):
        return None
    while hi - lo > 4:
        mid = (lo + hi) // 2 // 4 * 4
        if mid <= lo:
            mid = lo + 4
        if capture_works(args, flavour, mid):
            hi = mid
        else:
            lo = mid
    return hi


def summarise(samples):
    s = sorted(samples)
    med = statistics.median(s)
    spread = (s[-1] - s[0]) / med if med else 0.0
    return {"samples": samples, "min": s[0], "median": med, "max": s[-1],
            "spread": spread}


def machine_info(args):
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {
        "host": f"{os.cpu_count()} CPUs ({model}), {mem_gib:.0f} GiB, {platform.platform()}",
        "qemu": f"{qemu}, TCG, guest 2 vCPUs",
        "kernel": args.kernel_version,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def fmt(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def limits(metrics):
    """The copy paths' throughputs against the guest's memcpy and page loop."""
    if "memcpy_256m" not in metrics or "copyloop_page" not in metrics:
        return None
    med = lambda name, f: metrics[name][f]["median"]
    rows = []
    for f in FLAVOURS:
        if "copy_64" in metrics:
            rows.append(("relocate stub copy", f, COPY_BYTES / (med("copy_64", f) / 1e3) / 1e6))
        for name in ("vmcore_read1m", "vmcore_read64k", "vmcore_mmap"):
            if name in metrics:
                rows.append((METRICS[name][0], f, med(name, f)))
    return {"memcpy": statistics.median(metrics["memcpy_256m"][f]["median"] for f in FLAVOURS),
            "loop": statistics.median(metrics["copyloop_page"][f]["median"] for f in FLAVOURS),
            "rows": rows}


def write_report(args, results):
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")

    info, metrics = results["machine"], results["metrics"]
    lines = [
        "<!-- Generated by tools/bench/run.sh; do not edit by hand. -->",
        "",
        "# Benchmarks: rust against stock",
        "",
        f"Measured {info['date']} on {info['host']}; {info['qemu']}; kernel {info['kernel']}.",
        f"{results['reps']} repetitions per kernel, alternating stock and rust. Each cell is",
        "median (min-max) over the repetitions. The ratio is rust/stock of the medians;",
        "for times lower is better, for throughputs higher is better. The interval is the",
        "ratio's 95% bootstrap interval over the repetitions' pairs (10,000 resamples).",
        "Verdict: \"same\" when the interval lies within 0.97-1.03, \"faster\" or",
        "\"slower\" when it excludes 1.0, otherwise \"undecided\".",
        "",
        "| metric | unit | stock | rust | rust/stock | 95% interval | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    slower, undecided = [], []
    for name, (title, unit, better) in METRICS.items():
        if name not in metrics:
            continue
        s, r = metrics[name]["stock"], metrics[name]["rust"]
        ratio = metrics[name]["ratio"]
        lo, hi = metrics[name]["ci"]
        v = verdict(lo, hi, better)
        if v == "rust slower":
            slower.append(title)
        elif v == "undecided":
            undecided.append(title)
        cell = lambda x: f"{fmt(x['median'])} ({fmt(x['min'])}-{fmt(x['max'])})"
        lines.append(f"| {title} | {unit} | {cell(s)} | {cell(r)} | {ratio:.3f} | {lo:.3f}-{hi:.3f} | {v} |")
    ck = results.get("min_crashkernel")
    if ck:
        s, r = ck["stock"], ck["rust"]
        ratio = (r / s) if s and r else None
        verdict_ck = "same" if s == r else ("rust needs more" if (r or 1e9) > (s or 1e9) else "rust needs less")
        lines.append(f"| smallest crashkernel= that captures | MiB | {s} | {r} | "
                     f"{'%.3f' % ratio if ratio else 'n/a'} | (one bisection each) | {verdict_ck} |")
    limit = limits(metrics)
    if limit:
        lines += ["", "Against the guest's own copy speed (medians; the relocate copy as 75 MiB over",
                  "its copy_64 time, which also holds machine_shutdown and purgatory's start):", "",
                  "| path | kernel | MB/s | of memcpy() | of the page loop |", "|---|---|---|---|---|"]
        lines += [f"| {path} | {k} | {v:.0f} | {v / limit['memcpy']:.2f} | {v / limit['loop']:.2f} |"
                  for path, k, v in limit["rows"]]
    lines += ["", "Where rust is slower: " + ("; ".join(slower) if slower else "nowhere."),
              "Undecided (the interval holds 1.0 and leaves 0.97-1.03): " + ("; ".join(undecided) if undecided else "none."),
              ""]
    lines += [
        "How each is measured (QEMU with -mem-prealloc: no host page faults on guest RAM):",
        "kexec_load in the guest around the system call (median of",
        f"{results['loads']} loads per boot, the segments being the bzImage at 16 MiB and random data",
        "at 256 MiB); reboot and crash-to-capture on the host, from the serial line the guest",
        "prints just before `kexec -e` or the sysrq crash to the line the next kernel's /init",
        "prints first; the relocate stub's copy on the host, from the kernel's \"Starting",
        "new kernel\" to kexec-tools' purgatory printing \"I'm in purgatory\" (kexec -l",
        "--console-serial; 75 MiB of segments: bzImage, initramfs and 64 MiB of random data",
        f"that the second kernel checks by sha256; median of {results.get('copies', 1)} boots per repetition);",
        "/proc/vmcore throughput in the capture kernel with the guest clock",
        f"({results.get('vmcore_bytes', 0) / 1e6:.0f} MB vmcore of a 1 GiB guest booted with crashkernel={results['crashkernel']});",
        "the smallest crashkernel= by bisection on a 4 MiB grid, success meaning the",
        "capture kernel reached /init and read all of /proc/vmcore.",
        "",
        "Chart: `results/bench/chart.png`. Raw samples: `results/bench/results.json`.",
        "",
    ]
    # The sections the other modes write (--parts, --growth) stay.
    kept = re.findall(r"<!-- (\w+) begin -->\n(.*?)\n<!-- \1 end -->\n",
                      open(args.markdown).read() if os.path.exists(args.markdown) else "", re.S)
    with open(args.markdown, "w") as f:
        f.write("\n".join(lines))
    for name, body in kept:
        set_section(args.markdown, name, body.split("\n"))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no chart")
        return
    names = [n for n in METRICS if n in metrics]
    cols = 3
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.2 * rows))
    for ax, name in zip(axes.flat, names):
        title, unit, better = METRICS[name]
        meds = [metrics[name][f]["median"] for f in FLAVOURS]
        err = [[metrics[name][f]["median"] - metrics[name][f]["min"] for f in FLAVOURS],
               [metrics[name][f]["max"] - metrics[name][f]["median"] for f in FLAVOURS]]
        ax.bar(FLAVOURS, meds, yerr=err, capsize=6, color=["#888888", "#b7410e"])
        lo, hi = metrics[name]["ci"]
        ax.set_title(f"{title} [{verdict(lo, hi, better)}]", fontsize=9)
        ax.set_ylabel(f"{unit} ({better} is better)", fontsize=8)
        ax.text(0.5, 0.02, f"rust/stock = {metrics[name]['ratio']:.3f} [{lo:.3f}, {hi:.3f}]", transform=ax.transAxes,
                ha="center", fontsize=8, color="white", bbox=dict(facecolor="black", alpha=0.6))
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"kexec_rust vs stock, median with min-max whiskers, {results['reps']} runs each "
                 f"({info['date']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(args.results, "chart.png"), dpi=90)


def copy_series(args):
    """The copy_64 metric alone, one boot per sample, stock and rust alternating."""
    samples = {f: [] for f in FLAVOURS}
    for i in range(args.copy_only):
        for f in FLAVOURS:
            samples[f].append(copy_time(args, f))
            log(f"  boot {i + 1}/{args.copy_only} {f}: {samples[f][-1]:.1f} ms")
    info = machine_info(args)
    lines = [f"relocate stub copy, kernel + 64 MiB initrd (75 MiB of segments), {args.copy_only} boots "
             f"per kernel alternating, QEMU -mem-prealloc; {info['date']}, {info['host']}, {info['qemu']}",
             "kernel  median   q1      q3      min     max     (ms)"]
    q = {}
    for f in FLAVOURS:
        s = sorted(samples[f])
        qs = statistics.quantiles(s, n=4)
        q[f] = statistics.median(s)
        lines.append(f"{f:7} {q[f]:7.1f} {qs[0]:7.1f} {qs[2]:7.1f} {s[0]:7.1f} {s[-1]:7.1f}")
    lines.append(f"rust/stock of the medians: {q['rust'] / q['stock']:.3f}")
    lines.append("samples: " + json.dumps({f: [round(x, 1) for x in samples[f]] for f in FLAVOURS}))
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "copy.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def need(r, pattern, what):
    """The groups of the first serial line of run `r` that matches `pattern`;
    the run fails, naming `what`, when there is none."""
    _, mt = r.first(pattern)
    if not mt:
        r.fail(f"no {what} result")
    return mt.groups()


def boot_series(args, boots, kernels, run, parse, name, timeout=240):
    """`boots` boots of each kernel, alternating: `run` is (scenario, guest memory,
    kernel arguments, the stage that must finish); `parse(r)` returns the
    boot's {key: value}. Returns {kernel: {key: [values]}}, and logs each boot
    with `name(key)` for each value."""
    scenario, mem, extra, stage = run
    samples = {k: {} for k in kernels}
    for i in range(boots):
        for k in kernels:
            r = Run(args, k, scenario, mem, extra, timeout=timeout)
            if not r.ok(stage):
                r.fail(f"{scenario} did not finish stage {stage}")
            for key, v in parse(r).items():
                samples[k].setdefault(key, []).append(v)
            log(f"  boot {i + 1}/{boots} {k}: " + ", ".join(f"{name(key)}={vs[-1]:.1f}" for key, vs in samples[k].items()))
    return samples


def load_series(args, kind="load"):
    """The kexec_load (`kind` "load") or kexec_file_load ("fileload") metrics
    alone: one bench-load boot per sample, the kernels alternating (stock, rust,
    and with --baseline an earlier rust build)."""
    kernels = list(FLAVOURS) + (["baseline"] if args.baseline else [])
    sizes = (16, 64, 256) if kind == "load" else (64, 256)
    boots = args.load_only or args.fileload_only

    def parse(r):
        return {z: float(need(r, rf"^BENCH {kind}_{z} .*median=([0-9.]+)", f"{kind}_{z}")[0]) for z in sizes}

    samples = boot_series(args, boots, kernels, ("bench-load", "2G", f"krreps={args.loads}", "1"),
                          parse, lambda z: f"{kind}_{z}")
    info = machine_info(args)
    call = "kexec_load" if kind == "load" else "kexec_file_load"
    title = (f"{call} latency (ms), kernel + {'/'.join(map(str, sizes))} MiB initrd, {args.loads} loads per boot "
             f"(median), {boots} boots per kernel alternating; {info['date']}, {info['host']}, {info['qemu']}")
    load_report(args, samples, title, kind)


def reboot_series(args):
    """The kexec -e latencies alone, after kexec -l (kexec_load) and after
    kexec -s -l (kexec_file_load, whose purgatory checks the SHA-256 of every
    segment before it enters the new kernel): one boot per sample each, the
    kernels alternating. Writes results/bench/reboot.txt."""
    def parse(r):
        return {"ms": span(args, r, r"^KR-INFO kexec -e at", r"^KR-STAGE 2 ")}

    lines = []
    info = machine_info(args)
    lines.append(f"kexec -e to the second kernel's init (ms, host clock on the serial lines), "
                 f"{args.reboot_only} boots per kernel alternating; {info['date']}, {info['host']}, {info['qemu']}")
    samples_all = {}
    for scenario, name in (("kexec", "reboot"), ("kexec-file", "reboot_file")):
        samples = boot_series(args, args.reboot_only, list(FLAVOURS), (scenario, "1G", "", "2"), parse,
                              lambda _k, n=name: n)
        a, b = samples["rust"]["ms"], samples["stock"]["ms"]
        lo, hi = ratio_ci(a, b)
        ratio = statistics.median(a) / statistics.median(b)
        lines.append(f"{name:12} stock {statistics.median(b):8.1f}  rust {statistics.median(a):8.1f}  "
                     f"rust/stock {ratio:.3f} [{lo:.3f}, {hi:.3f}]  {verdict(lo, hi, 'lower')}")
        samples_all[name] = {k: [round(x, 1) for x in samples[k]["ms"]] for k in FLAVOURS}
    lines.append("(ratio of the medians [95% bootstrap interval, 10000 resamples of each kernel's boots])")
    lines.append("samples: " + json.dumps(samples_all))
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "reboot.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


VMCORE_MODES = ("read4k", "read64k", "read1m", "mmap")


def vmcore_series(args):
    """/proc/vmcore throughput alone: one bench-kdump boot per sample (crash, then
    the capture kernel reads the whole vmcore with each mode), the kernels
    alternating; with --vmcore-min also the smallest crashkernel= per kernel."""
    size = 0

    def parse(r):
        nonlocal size
        out = {}
        for m in VMCORE_MODES:
            nbytes, mbps = need(r, rf"^BENCH vmcore_{m} bytes=(\d+) .*mbps=([0-9.]+)", f"vmcore_{m}")
            out[m], size = float(mbps), int(nbytes)
        return out

    samples = boot_series(args, args.vmcore_only, FLAVOURS,
                          ("bench-kdump", "1G", f"crashkernel={args.crashkernel}", "capture"), parse, str)
    info = machine_info(args)
    lines = [f"/proc/vmcore throughput (MB/s, guest clock), whole vmcore of {size} bytes, 1 GiB guest, "
             f"crashkernel={args.crashkernel}, {args.vmcore_only} boots per kernel alternating; "
             f"{info['date']}, {info['host']}, {info['qemu']}",
             "kernel  " + "".join(f"{m:>10} " for m in VMCORE_MODES) + "(median of the boots)"]
    med = {f: {m: statistics.median(samples[f][m]) for m in VMCORE_MODES} for f in FLAVOURS}
    for f in FLAVOURS:
        lines.append(f"{f:7} " + "".join(f"{med[f][m]:10.1f} " for m in VMCORE_MODES))
    cells = []
    for m in VMCORE_MODES:
        lo, hi = ratio_ci(samples["rust"][m], samples["stock"][m])
        cells.append(f"{m} {med['rust'][m] / med['stock'][m]:.2f} [{lo:.2f}, {hi:.2f}]")
    lines.append("rust/stock: " + "  ".join(cells))
    lines.append("(ratio of the medians [95% bootstrap interval, 10000 resamples of each kernel's boots])")
    for f in FLAVOURS:
        lines.append(f"{f} read()/own mmap(): " + "  ".join(
            f"{m} {med[f][m] / med[f]['mmap']:.2f}" for m in VMCORE_MODES[:3]))
    if args.vmcore_min:
        log("smallest crashkernel= that captures")
        for f in FLAVOURS:
            lines.append(f"{f} smallest crashkernel= that captures (4 MiB grid): "
                         f"{smallest_crashkernel(args, f)}M")
    lines.append("samples: " + json.dumps({f: {m: [round(x, 1) for x in samples[f][m]] for m in VMCORE_MODES}
                                           for f in FLAVOURS}))
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "vmcore.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


# The reboot and the crash, part by part (--parts): each part runs from one
# serial line to the next, in order; (marker, what the part before it holds,
# whose code that is).
PARTS = {
    "reboot": [
        (r"^KR-INFO kexec -e at", None, None),
        (r"Starting new kernel", "kernel_kexec: reboot notifiers, device and syscore shutdown",
         "ours (the drivers' shutdown is C)"),
        (r"I'm in purgatory", "machine_shutdown, machine_kexec, the relocate stub's copy", "ours"),
        (r"Decompressing Linux", "purgatory's SHA-256 of the segments, the decompressor's set-up",
         "kexec-tools, the boot code"),
        (r"Booting the kernel", "decompression", "the boot code"),
        (r"Linux version", "the kernel's entry to its first line", "the boot code"),
        (r"^KR-STAGE 2 ", "the new kernel's boot to /init", "the kernel (ours: a few init calls)"),
    ],
    "crash": [
        (r"^KR-INFO crash at", None, None),
        (r"Kernel panic - not syncing", "sysrq to panic()", "the kernel"),
        (r"I'm in purgatory", "panic's message and stack dump, crash_kexec, machine_crash_shutdown, the stub",
         "ours after the dump"),
        (r"Decompressing Linux", "purgatory's SHA-256 of the segments, the decompressor's set-up",
         "kexec-tools, the boot code"),
        (r"Booting the kernel", "decompression", "the boot code"),
        (r"Linux version", "the kernel's entry to its first line", "the boot code"),
        (r"^KR-STAGE capture ", "the capture kernel's boot to /init", "the kernel (ours: a few init calls)"),
    ],
}


def parts_of(r, path):
    """{"PATH_1": ms, ...} of one boot: the markers of PARTS[path] are looked
    for in order, each after the one before."""
    out, i, prev = {}, 0, None
    for k, (pattern, _, _) in enumerate(PARTS[path]):
        rx = re.compile(pattern)
        while i < len(r.lines) and not rx.search(r.lines[i][1]):
            i += 1
        if i == len(r.lines):
            r.fail(f"{path}: no line matching {pattern!r} after the one before")
        t = r.lines[i][0]
        if prev is not None:
            out[f"{path}_{k}"] = (t - prev) * 1e3
        prev = t
        i += 1
    return out


def parts_series(args):
    """The kexec -e reboot and the crash to capture, part by part, --parts
    boots per kernel alternating. Writes results/bench/parts.{txt,json} and
    the parts section of Documentation/benchmarks.md."""
    samples = {f: {} for f in FLAVOURS}
    for path, scenario, stage in (("reboot", "bench-parts", "2"), ("crash", "bench-parts-crash", "capture")):
        got = boot_series(args, args.parts, FLAVOURS, (scenario, "1G", f"crashkernel={args.crashkernel}", stage),
                          lambda r, path=path: parts_of(r, path), str)
        for f in FLAVOURS:
            samples[f].update(got[f])
    info = machine_info(args)
    lines = [f"Measured {info['date']} on {info['host']}; {info['qemu']}; kernel {info['kernel']}.",
             f"{args.parts} boots per kernel, alternating. Host clock on the serial lines each stage prints "
             "(the second kernel with earlyprintk, kexec-tools' purgatory with --console-serial, the "
             "decompressor with X86_VERBOSE_BOOTUP); medians of the boots in ms, the ratio rust/stock with "
             "its 95% bootstrap interval (each kernel's boots resampled).", ""]
    out = {"machine": info, "boots": args.parts, "samples": samples}
    for path, marks in PARTS.items():
        title = "kexec -e to the second kernel's /init" if path == "reboot" else "sysrq crash to the capture kernel's /init"
        lines += [f"{title}:", "", "| part | whose | stock | rust | rust/stock | 95% interval | verdict |",
                  "|---|---|---|---|---|---|---|"]
        tot = {f: [sum(samples[f][f"{path}_{k}"][b] for k in range(1, len(marks))) for b in range(args.parts)]
               for f in FLAVOURS}
        shares = []
        for k in range(1, len(marks)):
            _, what, whose = marks[k]
            a, b = samples["rust"][f"{path}_{k}"], samples["stock"][f"{path}_{k}"]
            ma, mb = statistics.median(a), statistics.median(b)
            lo, hi = ratio_ci(a, b) if mb > 0 else (float("nan"), float("nan"))
            lines.append(f"| {what} | {whose} | {fmt(mb)} | {fmt(ma)} | {ma / mb:.3f} | {lo:.3f}-{hi:.3f} | "
                         f"{verdict(lo, hi, 'lower')} |")
            shares.append((mb / statistics.median(tot["stock"]), what, whose))
        a, b = tot["rust"], tot["stock"]
        lo, hi = ratio_ci(a, b)
        lines.append(f"| whole | | {fmt(statistics.median(b))} | {fmt(statistics.median(a))} | "
                     f"{statistics.median(a) / statistics.median(b):.3f} | {lo:.3f}-{hi:.3f} | {verdict(lo, hi, 'lower')} |")
        top = max(shares)
        lines += ["", f"The largest part on stock: {top[1]} ({top[2]}), {100 * top[0]:.0f}% of the whole.", ""]
    write_mode(args, "parts", out, "The reboot and the crash, part by part", lines)


# The load series: (guest memory, initrd sizes in MiB). A 1 GiB initrd needs a
# 4 GiB guest (the caller's copy and the image's, and stock refuses an image
# over half of memory); a 2 GiB guest takes up to 512 MiB, and there
# kexec_load (stock's and ours) jumps at 256 MiB, where the initrd's
# destination is a large share of the guest's memory.
GROWTH_LOADS = (("2G", (16, 64, 256, 512)), ("4G", (16, 64, 256, 1024)))
GROWTH_MEM_GIB = (1, 2, 4)


def linearity(xs, ys):
    """Least-squares line through (xs, ys): (slope, intercept, R^2), and the
    marginal cost of the last step over that of the first (1.0 for a line)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx
    icpt = my - slope * mx
    sst = sum((y - my) ** 2 for y in ys)
    r2 = 1 - sum((y - icpt - slope * x) ** 2 for x, y in zip(xs, ys)) / sst if sst else 1.0
    first = (ys[1] - ys[0]) / (xs[1] - xs[0])
    last = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    # (None when the first step did not grow: noise at the small end.)
    return slope, icpt, r2, (last / first) if first > 0 else None


def shape(r2, bend):
    """In words: how a cost grows with its input."""
    if bend is not None and bend < 0:
        return f"not monotonic: the last step got cheaper (R^2 of a line {r2:.4f})"
    if bend is None:
        return f"no trend at the small end (the first step did not grow; R^2 of a line {r2:.4f})"
    if r2 >= 0.99 and 0.5 <= bend <= 2.0:
        return f"linear (R^2 {r2:.4f}, last step's cost per unit {bend:.2f}x the first's)"
    if bend > 2.0:
        return f"faster than linear (R^2 of a line {r2:.4f}, last step's cost per unit {bend:.1f}x the first's)"
    if bend < 0.5:
        return f"slower than linear (R^2 of a line {r2:.4f}, last step's cost per unit {bend:.2f}x the first's)"
    return f"not a line (R^2 {r2:.4f}, last step's cost per unit {bend:.2f}x the first's)"


def growth_series(args):
    """How each cost grows: kexec_load and kexec_file_load latency against the
    initrd's size (GROWTH_LOADS: one boot per guest size), and the
    time to read all of /proc/vmcore against the first kernel's memory
    (GROWTH_MEM_GIB); --growth boots of each per kernel, alternating. Writes
    results/bench/growth.{txt,json,png} and the growth section of
    Documentation/benchmarks.md."""
    boots = args.growth
    samples = {f: {} for f in FLAVOURS}  # flavour -> series key -> [values]

    def loads(r, mem, sizes):
        return {f"{kind}{mem}_{z}": float(need(r, rf"^BENCH {kind}_{z} .*median=([0-9.]+)", f"{kind}_{z}")[0])
                for kind in ("load", "fileload") for z in sizes}

    def reads(r, gib):
        return {f"vmcore_{mode}_{gib}": float(need(r, rf"^BENCH vmcore_{mode} bytes=\d+ ms=([0-9.]+)", mode)[0])
                for mode in ("read1m", "mmap")}

    runs = [(("bench-growth", mem, f"krreps={args.growth_loads} krsizes={','.join(map(str, sizes))}", "1"),
             lambda r, mem=mem, sizes=sizes: loads(r, mem, sizes)) for mem, sizes in GROWTH_LOADS]
    runs += [(("bench-kdump", f"{gib}G", f"crashkernel={args.crashkernel}", "capture"),
              lambda r, gib=gib: reads(r, gib)) for gib in GROWTH_MEM_GIB]
    for run, parse in runs:
        got = boot_series(args, boots, FLAVOURS, run, parse, str, timeout=args.growth_timeout)
        for f in FLAVOURS:
            samples[f].update(got[f])

    series = [(f"{kind}{mem}", f"{call} latency, {mem[:-1]} GiB guest", "initrd MiB", sizes, "ms")
              for kind, call in (("load", "kexec_load"), ("fileload", "kexec_file_load"))
              for mem, sizes in GROWTH_LOADS]
    series += [("vmcore_read1m", "/proc/vmcore read(), 1 MiB buffer, whole file", "guest GiB", GROWTH_MEM_GIB, "ms"),
              ("vmcore_mmap", "/proc/vmcore mmap(), whole file", "guest GiB", GROWTH_MEM_GIB, "ms")]
    info = machine_info(args)
    lines = [f"Measured {info['date']} on {info['host']}; {info['qemu']}; kernel {info['kernel']}.",
             f"{boots} boots per kernel and point, alternating stock and rust; each cell the median of the "
             f"boots (min-max); loads: the median of {args.growth_loads} loads per boot; "
             f"/proc/vmcore: a guest of that many GiB, crashkernel={args.crashkernel}, "
             "guest clock. Ratio rust/stock of the medians with its 95% bootstrap interval "
             "(each kernel's boots resampled).", ""]
    out = {"machine": info, "boots": boots, "loads": args.growth_loads,
           "crashkernel": args.crashkernel, "samples": samples, "series": {}}
    for key, title, xlabel, xs, unit in series:
        lines += [f"{title} ({unit}) against {xlabel}:", "",
                  f"| {xlabel} | stock | rust | rust/stock | 95% interval | verdict |", "|---|---|---|---|---|---|"]
        meds = {f: [] for f in FLAVOURS}
        parted = None
        for x in xs:
            a, b = samples["rust"][f"{key}_{x}"], samples["stock"][f"{key}_{x}"]
            lo, hi = ratio_ci(a, b)
            v = verdict(lo, hi, "lower")
            for f, vals in (("stock", b), ("rust", a)):
                meds[f].append(statistics.median(vals))
            if parted is None and v != "same":
                parted = (x, v)
            cell = lambda vals: f"{fmt(statistics.median(vals))} ({fmt(min(vals))}-{fmt(max(vals))})"
            lines.append(f"| {x} | {cell(b)} | {cell(a)} | {statistics.median(a) / statistics.median(b):.3f} | "
                         f"{lo:.3f}-{hi:.3f} | {v} |")
        lines.append("")
        fits = {}
        for f in FLAVOURS:
            slope, icpt, r2, bend = linearity(list(xs), meds[f])
            fits[f] = {"slope": slope, "intercept": icpt, "r2": r2, "bend": bend}
            lines.append(f"- {f}: {shape(r2, bend)}; least-squares line {icpt:.1f} + {slope:.3f} {unit} per "
                         f"{xlabel.split()[-1]}.")
        lines.append(f"- Where they part ways: " + (f"from {parted[0]} {xlabel.split()[-1]} on the first "
                     f"verdict other than \"same\" is \"{parted[1]}\"." if parted else
                     "nowhere: \"same\" at every point."))
        lines.append("")
        out["series"][key] = {"xs": list(xs), "medians": meds, "fits": fits}
    lines.append("Plots: `results/bench/growth.png`. Raw samples: `results/bench/growth.json`.")
    write_mode(args, "growth", out, "How each cost grows", lines)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plot")
        return
    fig, axes = plt.subplots(3, 2, figsize=(11, 12))
    for ax, (key, title, xlabel, xs, unit) in zip(axes.flat, series):
        for f, colour in zip(FLAVOURS, ("#888888", "#b7410e")):
            vals = [samples[f][f"{key}_{x}"] for x in xs]
            med = [statistics.median(v) for v in vals]
            err = [[m - min(v) for m, v in zip(med, vals)], [max(v) - m for m, v in zip(med, vals)]]
            ax.errorbar(xs, med, yerr=err, marker="o", capsize=4, color=colour, label=f)
            fit = out["series"][key]["fits"][f]
            # The fitted line, drawn through many points: on log axes it bends.
            fine = [xs[0] * (xs[-1] / xs[0]) ** (k / 50) for k in range(51)]
            ax.plot(fine, [fit["intercept"] + fit["slope"] * x for x in fine], linestyle=":", color=colour,
                    linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([str(x) for x in xs])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(unit + " (log)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle(f"How each cost grows: median of {boots} boots with min-max bars, dotted: least-squares line "
                 f"({info['date']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(args.results, "growth.png"), dpi=90)


def write_mode(args, name, data, heading, lines):
    """A mode's results: results/bench/NAME.json (its samples), NAME.txt and
    its section of the markdown (its report), and the report printed."""
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, f"{name}.json"), "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.results, f"{name}.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    set_section(args.markdown, name, [f"## {heading}", ""] + lines)
    print("\n".join(lines))


def set_section(path, name, body):
    """Replaces (or appends) the part of `path` between this section's markers,
    so that a full run and a --growth run can each rewrite their own part."""
    begin, end = f"<!-- {name} begin -->", f"<!-- {name} end -->"
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = ""
    block = "\n".join([begin] + body + [end]) + "\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(text)


def pair_ratio_ci(a, b, reps=10000, seed=1):
    """95% bootstrap interval of median(a) / median(b) over the pairs: the
    repetitions alternate the kernels, so repetition i of each forms a pair,
    and a resample draws pairs."""
    rng = random.Random(seed)
    n = len(a)
    r = []
    for _ in range(reps):
        idx = rng.choices(range(n), k=n)
        r.append(statistics.median(a[i] for i in idx) / statistics.median(b[i] for i in idx))
    r.sort()
    return r[int(0.025 * reps)], r[int(0.975 * reps)]


SAME_BAND = (0.97, 1.03)


def verdict(lo, hi, better):
    """From the ratio's interval: "same" inside 0.97-1.03, "faster" or "slower"
    when it excludes 1.0, otherwise "undecided"."""
    if SAME_BAND[0] <= lo and hi <= SAME_BAND[1]:
        return "same"
    if hi < 1.0 or lo > 1.0:
        lower = hi < 1.0
        return "rust faster" if lower == (better == "lower") else "rust slower"
    return "undecided"


def ratio_ci(a, b, reps=10000, seed=1):
    """95% bootstrap interval of median(a) / median(b), resampling each side."""
    rng = random.Random(seed)
    r = sorted(statistics.median(rng.choices(a, k=len(a))) / statistics.median(rng.choices(b, k=len(b)))
               for _ in range(reps))
    return r[int(0.025 * reps)], r[int(0.975 * reps)]


def load_report(args, samples, title, kind="load"):
    """Writes and prints the --load-only table from the samples, under `title`."""
    kernels = list(samples)
    sizes = [int(z) for z in samples["stock"]]
    samples = {k: {int(z): v for z, v in samples[k].items()} for k in kernels}
    lines = [title]
    if "baseline" in samples:
        lines.append(f"baseline: {args.baseline} ({args.baseline_name})")
    lines.append("kernel    " + "".join(f"{kind}_{z:<5} " for z in sizes) + "(median of the boots)")
    med = {k: {z: statistics.median(samples[k][z]) for z in sizes} for k in kernels}
    for k in kernels:
        lines.append(f"{k:9} " + "".join(f"{med[k][z]:10.1f} " for z in sizes))
    pairs = [(k, "stock") for k in kernels[1:]] + ([("rust", "baseline")] if "baseline" in samples else [])
    for a, b in pairs:
        cells = []
        for z in sizes:
            lo, hi = ratio_ci(samples[a][z], samples[b][z])
            cells.append(f"{med[a][z] / med[b][z]:.3f} [{lo:.3f}, {hi:.3f}]")
        lines.append(f"{a}/{b}: " + "  ".join(cells))
    lines.append("(ratio of the medians [95% bootstrap interval, 10000 resamples of each kernel's boots])")
    lines.append("samples: " + json.dumps({k: {z: [round(x, 1) for x in samples[k][z]] for z in sizes} for k in kernels}))
    os.makedirs(args.results, exist_ok=True)
    name = args.load_file if kind == "load" else args.fileload_file
    with open(os.path.join(args.results, name), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--kernel-version", required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--crashkernel", default="96M")
    ap.add_argument("--min-lo", type=int, default=16)
    ap.add_argument("--min-hi", type=int, default=128)
    ap.add_argument("--min-timeout", type=int, default=90)
    ap.add_argument("--copy-only", type=int, default=0, metavar="N",
                    help="only the relocate stub's copy: N boots per kernel, alternating; "
                         "prints each and a summary, writes results/bench/copy.txt")
    ap.add_argument("--load-only", type=int, default=0, metavar="N",
                    help="only the kexec_load metrics: N boots per kernel, alternating; "
                         "writes results/bench/LOAD_FILE")
    ap.add_argument("--fileload-only", type=int, default=0, metavar="N",
                    help="only the kexec_file_load metrics: N boots per kernel, alternating; "
                         "writes results/bench/FILELOAD_FILE")
    ap.add_argument("--fileload-file", default="fileload.txt")
    ap.add_argument("--reboot-only", type=int, default=0, metavar="N",
                    help="only the kexec -e latencies after kexec -l and kexec -s -l: N boots per kernel "
                         "each, alternating; writes results/bench/reboot.txt")
    ap.add_argument("--vmcore-only", type=int, default=0, metavar="N",
                    help="only /proc/vmcore throughput: N bench-kdump boots per kernel, alternating; "
                         "writes results/bench/vmcore.txt")
    ap.add_argument("--vmcore-min", action="store_true",
                    help="with --vmcore-only, also the smallest crashkernel= per kernel")
    ap.add_argument("--growth", type=int, default=0, metavar="N",
                    help="only how the costs grow: kexec_load and kexec_file_load against the initrd's size "
                         "(16-512 MiB in a 2 GiB guest, 16-1024 MiB in a 4 GiB one) and the /proc/vmcore read against the guest's memory (1-4 GiB), N boots "
                         "per kernel and point; writes results/bench/growth.{txt,json,png} and its section of "
                         "the markdown")
    ap.add_argument("--parts", type=int, default=0, metavar="N",
                    help="only the kexec -e reboot and the crash to capture, part by part: N boots per kernel; "
                         "writes results/bench/parts.{txt,json} and its section of the markdown")
    ap.add_argument("--icount-reps", type=int, default=10, metavar="N",
                    help="after the full run, N repetitions per kernel under QEMU's -icount (the noise-free "
                         "column; 0: none)")
    ap.add_argument("--icount-only", type=int, default=0, metavar="N",
                    help="only the noise-free column: N repetitions per kernel under -icount, beside the "
                         "committed results.json; writes results/bench/icount.{txt,json} and its section")
    ap.add_argument("--arm64", type=int, default=0, metavar="N",
                    help="only the arm64 rows: N repetitions per kernel (arm64-stock, arm64-rust), "
                         "alternating; writes results/bench/arm64.{txt,json} and its section")
    ap.add_argument("--icount-shift", type=int, default=0, help="-icount shift: 2^shift ns per instruction")
    ap.add_argument("--icount-loads", type=int, default=3, help="loads per size and boot under -icount")
    ap.add_argument("--growth-loads", type=int, default=3, help="loads per size and boot in --growth")
    ap.add_argument("--growth-timeout", type=int, default=1800)
    ap.add_argument("--baseline", default="", metavar="DIR",
                    help="with --load-only, also an earlier rust build: DIR/bzImage and DIR/initrd.cpio.gz")
    ap.add_argument("--baseline-name", default="earlier rust build")
    ap.add_argument("--load-file", default="load.txt")
    ap.add_argument("--load-reanalyse", default="", metavar="FILE",
                    help="rewrite a --load-only report from the samples line of FILE (no boots)")
    args = ap.parse_args()
    args.icount = None  # set by icount_series

    if args.load_reanalyse:
        with open(args.load_reanalyse) as f:
            text = f.read().splitlines()
        samples = json.loads(next(l for l in text if l.startswith("samples: "))[len("samples: "):])
        load_report(args, samples, text[0])
        return

    if args.growth:
        growth_series(args)
        return
    if args.parts:
        parts_series(args)
        return
    if args.load_only:
        load_series(args)
        return
    if args.fileload_only:
        load_series(args, "fileload")
        return
    if args.reboot_only:
        reboot_series(args)
        return
    if args.vmcore_only:
        vmcore_series(args)
        return
    if args.copy_only:
        if args.copy_only < 2:
            ap.error("--copy-only needs at least 2 boots per kernel")
        copy_series(args)
        return

    if args.icount_only:
        icount_series(args, args.icount_only)
        return
    if args.arm64:
        if args.arm64 < 2:
            ap.error("--arm64 needs at least 2 repetitions per kernel (one pair has no interval)")
        arm64_series(args, args.arm64)
        return

    metrics, vmcore_bytes = rep_metrics(args, args.reps)
    log("smallest crashkernel= that captures")
    min_ck = {f: smallest_crashkernel(args, f) for f in FLAVOURS}

    results = {"machine": machine_info(args), "reps": args.reps, "loads": args.loads, "copies": args.copies,
               "crashkernel": args.crashkernel, "vmcore_bytes": vmcore_bytes,
               "metrics": metrics, "min_crashkernel": min_ck}
    write_report(args, results)
    if args.icount_reps:
        icount_series(args, args.icount_reps)
    with open(args.markdown) as f:
        print(f.read())


if __name__ == "__main__":
    main()
