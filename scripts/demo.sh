#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job, end to end on our kernel (CONFIG_KEXEC_RUST=y): set up the host,
# build the kernel, boot it in QEMU, kexec into a second kernel, then boot again,
# crash into the capture kernel, save /proc/vmcore and check it on the host.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/setup.sh"
"$REPO/scripts/build-kernel.sh" rust
"$REPO/tools/initramfs/build.sh" rust
status=0
for s in kexec kdump; do
    "$REPO/tools/qemu/run-scenario.sh" rust "$s" || status=1
done
[ $status -eq 0 ] || die "demo failed; serial logs are in $OUT_DIR/rust/"
cat <<MSG

The rust kernel kexec'ed into a second kernel and saved a vmcore after a crash:
  vmcore         $OUT_DIR/rust/kdump/vmcore
  its kernel log $OUT_DIR/rust/kdump/dmesg.txt
  serial logs    $OUT_DIR/rust/kexec/serial.log, $OUT_DIR/rust/kdump/serial.log
  vmlinux        $BUILD_DIR/rust/vmlinux   (e.g. drgn -c vmcore -s vmlinux)
MSG
