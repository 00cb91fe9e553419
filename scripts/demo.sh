#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job, end to end on our kernel (CONFIG_KEXEC_RUST=y): set up the host,
# build the kernel, boot it in QEMU, kexec into a second kernel, then boot again,
# crash into the capture kernel, save /proc/vmcore and check it on the host.
# Both architectures by default (x86_64 on q35, arm64 on virt, both under TCG);
# --arch x86_64 or --arch arm64 for one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arches=(x86_64 arm64)
case ${1:-} in
    "") ;;
    --arch)
        case ${2:-} in
            x86_64 | arm64) arches=("$2") ;;
            *) die "usage: scripts/demo.sh [--arch x86_64|arm64]" ;;
        esac ;;
    *) die "usage: scripts/demo.sh [--arch x86_64|arm64]" ;;
esac

"$REPO/scripts/setup.sh"
status=0 flavours=()
for arch in "${arches[@]}"; do
    flavour=rust
    [ "$arch" = x86_64 ] || flavour=arm64-rust
    flavours+=("$flavour")
    "$REPO/scripts/build-kernel.sh" "$flavour"
    "$REPO/tools/initramfs/build.sh" "$flavour"
    for s in kexec kdump; do
        "$REPO/tools/qemu/run-scenario.sh" "$flavour" "$s" </dev/null || status=1
    done
done
[ $status -eq 0 ] || die "demo failed; serial logs are in $(printf "$OUT_DIR/%s/ " "${flavours[@]}")"
for flavour in "${flavours[@]}"; do
    cat <<MSG

The $flavour kernel kexec'ed into a second kernel and saved a vmcore after a crash:
  vmcore         $OUT_DIR/$flavour/kdump/vmcore
  its kernel log $OUT_DIR/$flavour/kdump/dmesg.txt
  serial logs    $OUT_DIR/$flavour/kexec/serial.log, $OUT_DIR/$flavour/kdump/serial.log
  vmlinux        $BUILD_DIR/$flavour/vmlinux   (e.g. drgn -c vmcore -s vmlinux)
MSG
done
