#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Crash-to-capture soak: tools/soak.sh [CYCLES] [FLAVOUR]
#
# CYCLES (default 100) consecutive crash-types runs on FLAVOUR (default rust),
# taking the ways of dying in turn ($CRASH_TYPES in scripts/lib.sh), each a new
# QEMU (first kernel, crash, capture kernel, vmcore saved and checked on the host
# with its panic message). The kernels and initramfs must be built (run
# tools/run-tests.sh once). One line per cycle in $OUT_DIR/soak-FLAVOUR.txt, then
# "N passed, M failed". Exits 1 if any cycle failed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

cycles=${1:-100}
flavour=${2:-rust}
read -ra types <<<"$CRASH_TYPES"
report=$OUT_DIR/soak-$flavour.txt
: >"$report"
passed=0
failed=0
start=$(date +%s)
for ((i = 0; i < cycles; i++)); do
    t=${types[i % ${#types[@]}]}
    if line=$(KR_CASE=$t "$REPO/tools/qemu/run-scenario.sh" "$flavour" crash-types 2>/dev/null); then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        # Keep the failed run's directory for its serial log.
        cp -r "$OUT_DIR/$flavour/crash-types-$t" "$OUT_DIR/$flavour/soak-failed-$i-$t"
    fi
    echo "cycle $i $t: $line" | tee -a "$report"
done
log "soak: $cycles cycles on $flavour in $(( $(date +%s) - start )) s ($report)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
