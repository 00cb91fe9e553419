#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Rust crashkernel= parser against the stock one (the oracle that oracle.sh
# builds from the kernel source):
#   1. the oracle still prints expected.txt for cases.txt (the table that
#      `cargo test` checks the Rust parser against);
#   2. both parsers give the same answer for N random command lines (default 50000).
# Prints one summary line; exits 1 on any difference.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

n=${1:-50000}
here=$(cd "$(dirname "$0")" && pwd)
work=$CACHE/crashkernel
mkdir -p "$work"
"$here/oracle.sh" "$work/oracle"
(cd "$REPO" && cargo build --quiet --release -p kexec-logic --bin crashkernel-parse)
ours=$CARGO_TARGET/release/crashkernel-parse

"$work/oracle" <"$here/cases.txt" >"$work/expected.txt"
if ! diff -u "$here/expected.txt" "$work/expected.txt" >"$work/expected.diff"; then
    cat "$work/expected.diff"
    die "the stock parser no longer prints tools/crashkernel/expected.txt"
fi

"$ours" --generate "$n" 1 >"$work/random.txt"
"$work/oracle" <"$work/random.txt" >"$work/random.stock"
"$ours" <"$work/random.txt" >"$work/random.rust"
if ! cmp -s "$work/random.stock" "$work/random.rust"; then
    paste -d '|' "$work/random.txt" "$work/random.stock" "$work/random.rust" |
        awk -F'|' '$2 != $3' | head -n 20
    die "the parsers differ on $(paste -d '|' "$work/random.stock" "$work/random.rust" | awk -F'|' '$1 != $2' | wc -l) of $n random command lines (first 20 above: input|stock|rust)"
fi
ok=$(grep -c '^ret=0' "$work/random.stock" || true)
echo "crashkernel=: stock and rust agree on the $(wc -l <"$here/cases.txt") table cases and on $n random command lines ($ok of them valid)"
