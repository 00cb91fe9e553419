#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the rust flavour in configurations that its usual builds do not
# cover, each with CONFIG_WERROR=y (a C or rustc warning fails the build), one
# after the other in one build directory ($BUILD_DIR/matrix):
#
#   tools/compile-matrix.sh [VARIANT...]
#
#   numa        NUMA=y and IA32_EMULATION=y (COMPAT)
#   nohotplug   CRASH_HOTPLUG=n
#   nocrash     KEXEC_RUST_CRASH=n (the C crash parts beside our kexec core)
#   norelocate  KEXEC_RUST_RELOCATE=n (and so KEXEC_RUST_FILE=n)
#   novmcore    KEXEC_RUST_VMCORE=n and KEXEC_RUST_FILE=n
#
# Prints one PASS/FAIL line per variant and the time it took, then
# "N passed, M failed"; exits 1 if any failed. Each variant is a full kernel
# build (its options change autoconf.h): about 8 minutes each on 2 cores.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(numa nohotplug nocrash norelocate novmcore)
lines() {
    case $1 in
        numa) printf '%s\n' CONFIG_NUMA=y CONFIG_IA32_EMULATION=y ;;
        nohotplug) printf '%s\n' '# CONFIG_CRASH_HOTPLUG is not set' ;;
        nocrash) printf '%s\n' '# CONFIG_KEXEC_RUST_CRASH is not set' ;;
        norelocate) printf '%s\n' '# CONFIG_KEXEC_RUST_RELOCATE is not set' ;;
        novmcore) printf '%s\n' '# CONFIG_KEXEC_RUST_VMCORE is not set' '# CONFIG_KEXEC_RUST_FILE is not set' ;;
        *) die "unknown variant '$1' (numa, nohotplug, nocrash, norelocate, novmcore)" ;;
    esac
    echo CONFIG_WERROR=y
}
"$REPO/scripts/setup.sh" >/dev/null
passed=0 failed=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for v in "${variants[@]}"; do
    lines "$v" >"$tmp"
    start=$(date +%s)
    if KR_EXTRA_CONFIG=$tmp KR_BUILD_NAME=matrix "$REPO/scripts/build-kernel.sh" rust >"$CACHE/matrix-$v.log" 2>&1; then
        # The subsystem's own objects must have been built in this variant.
        if [ -f "$BUILD_DIR/matrix/kexec_rust/rust/kexec_rust.o" ]; then
            echo "PASS compile-matrix $v ($(paste -sd' ' "$tmp")): built without a warning in $(( $(date +%s) - start )) s"
            passed=$((passed + 1))
        else
            echo "FAIL compile-matrix $v: no kexec_rust.o was built"
            failed=$((failed + 1))
        fi
    else
        grep -E 'warning|error' "$BUILD_DIR/matrix/build.log" 2>/dev/null | head -n 20 || tail -n 20 "$CACHE/matrix-$v.log"
        echo "FAIL compile-matrix $v ($(paste -sd' ' "$tmp")): see $CACHE/matrix-$v.log and $BUILD_DIR/matrix/build.log"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
