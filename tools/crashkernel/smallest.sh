#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The smallest crashkernel= (MiB, on a 4 MiB grid) with which the whole `kdump`
# scenario passes (load, crash, capture kernel boots, vmcore saved and checked),
# for each kernel, by bisection between LOW (fails) and HIGH (passes):
#
#   tools/crashkernel/smallest.sh [LOW [HIGH]]      default 16 96
#
# Prints one line per try and one result line per kernel. Needs the kernels and
# initramfs images that tools/run-tests.sh builds.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

low0=${1:-16}
high0=${2:-96}
for f in "${FLAVOURS[@]}"; do
    low=$low0 high=$high0
    while [ $((high - low)) -gt 4 ]; do
        mid=$(( (low + high) / 2 / 4 * 4 ))
        [ "$mid" -gt "$low" ] || mid=$((low + 4))
        if line=$(CRASHKERNEL=${mid}M QEMU_TIMEOUT=180 "$REPO/tools/qemu/run-scenario.sh" "$f" kdump 2>/dev/null); then
            high=$mid
        else
            low=$mid
        fi
        echo "$f crashkernel=${mid}M: ${line%% in *}"
    done
    echo "RESULT $f: smallest crashkernel= for the kdump scenario: ${high}M (${low}M fails)"
done
