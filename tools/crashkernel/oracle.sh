#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the stock kernel's crashkernel= parser for the host, straight from the
# kernel source the set-up unpacked (kernel/crash_reserve.c, memparse() and the
# integer parsing under lib/), with a small shim header for the kernel macros it
# uses. It is the oracle the Rust parser is compared with: nothing of it is copied
# into the repository, it is cut out of the tree at test time.
#
#   tools/crashkernel/oracle.sh OUT      writes the oracle binary to OUT
#
# The binary reads lines "SYSTEM_RAM<TAB>DEFAULT_LOW<TAB>CMDLINE" and prints one
# line per input: "ret=0 size=0x.. base=0x.. low=0x.. cma=0x.. high=0|1", or
# "ret=-N" when parse_crashkernel() fails (x86 ignores the outputs then).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

out=${1:?usage: oracle.sh OUT}
[ -f "$SRC_DIR/kernel/crash_reserve.c" ] || die "no kernel source in $SRC_DIR: run scripts/setup.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One top-level C function of FILE, from its signature line to the closing brace.
function_of() { # FILE NAME
    awk -v name="$2" '
        !on && $0 ~ "^[a-z].*[ *]" name "\\(" { on = 1 }
        on { print }
        on && /^}/ { exit }
    ' "$1"
}

{
    cat "$(dirname "$0")/oracle-shim.h"
    for f in _parse_integer_fixup_radix _parse_integer_limit; do function_of "$SRC_DIR/lib/kstrtox.c" "$f"; done
    function_of "$SRC_DIR/lib/vsprintf.c" simple_strntoull
    function_of "$SRC_DIR/lib/vsprintf.c" simple_strtoull
    function_of "$SRC_DIR/lib/cmdline.c" memparse
    # The parser: from its section comment to the early_param() that follows it.
    sed -n '/parsing the "crashkernel" commandline/,/Add a dummy early_param handler/p' \
        "$SRC_DIR/kernel/crash_reserve.c" | sed '1s/^/\/*/; $d'
    cat "$(dirname "$0")/oracle-main.c"
} >"$work/oracle.c"
grep -q 'int __init parse_crashkernel(' "$work/oracle.c" ||
    die "could not cut parse_crashkernel() out of $SRC_DIR/kernel/crash_reserve.c"
"clang$LLVM_SUFFIX" -O1 -w -o "$out" "$work/oracle.c" || die "the oracle did not compile (source: kernel $KERNEL_PKG)"
