#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The host's side of the scenarios that act on the guest through QEMU's
monitor (HMP on a Unix socket), run by tools/qemu/run-scenario.sh beside QEMU:

    monitor.py SOCKET SERIAL_LOG TIMEOUT_S JOB [ARG]

Each job waits for the marker lines the guest prints on its serial console
(the log QEMU writes) and answers with monitor commands; everything the
monitor says is printed, for the scenario's checks and its failure messages.

    nmi          on KR-NMI-READY: "nmi" (QEMU injects an NMI into every CPU)
    hotplug      on KR-HOTPLUG-ADD: a 512 MiB and a 256 MiB DIMM (dimm1,
                 dimm2) and "info memory-devices"; on KR-HOTPLUG-REMOVE:
                 dimm2 unplugged (ACPI eject)
    virtio-mem   on KR-VMEM-PLUG: the device's backing file ARG filled with
                 0xa5, then 300 MiB of the device (vm0) asked for
"""

import importlib.util
import os
import socket
import sys
import time

# The guest's KR- lines as the host's readers see them: mended where a kernel
# message split one (mend-serial.py).
_spec = importlib.util.spec_from_file_location(
    "mend_serial", os.path.join(os.path.dirname(os.path.abspath(__file__)), "mend-serial.py"))
mend_serial = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mend_serial)


def main():
    sock, serial, limit, job = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    end = time.time() + limit

    def wait_for(marker):
        while time.time() < end:
            try:
                with open(serial, "rb") as f:
                    lines, _ = mend_serial.mend(f.read().split(b"\n"))
                    if any(l.startswith(marker) for l in lines):
                        return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    s = socket.socket(socket.AF_UNIX)
    for _ in range(50):
        try:
            s.connect(sock)
            break
        except OSError:
            time.sleep(0.2)

    def hmp(cmd):
        s.sendall(cmd.encode() + b"\n")
        time.sleep(1)
        s.settimeout(2)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            pass
        print("(qemu) " + cmd)
        print(out.decode(errors="replace"), flush=True)

    if job == "nmi":
        if wait_for(b"KR-NMI-READY"):
            hmp("nmi")
    elif job == "hotplug":
        if wait_for(b"KR-HOTPLUG-ADD"):
            for c in ("object_add memory-backend-ram,id=mem1,size=512M",
                      "device_add pc-dimm,id=dimm1,memdev=mem1",
                      "object_add memory-backend-ram,id=mem2,size=256M",
                      "device_add pc-dimm,id=dimm2,memdev=mem2",
                      "info memory-devices"):
                hmp(c)
        if wait_for(b"KR-HOTPLUG-REMOVE"):
            hmp("device_del dimm2")
    elif job == "virtio-mem":
        if wait_for(b"KR-VMEM-PLUG"):
            # Every byte 0xa5: nothing of it may show through as a page of zeros.
            with open(sys.argv[5], "r+b") as f:
                chunk = b"\xa5" * (1 << 20)
                for _ in range(1024):
                    f.write(chunk)
                f.flush()
            print("filled %s" % sys.argv[5], flush=True)
            hmp("qom-set /machine/peripheral/vm0 requested-size 314572800")
            hmp("info memory-devices")
    else:
        sys.exit(f"monitor.py: unknown job {job!r}")


if __name__ == "__main__":
    main()
