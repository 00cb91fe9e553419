#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The host relocation tests built for aarch64 and run under qemu-aarch64-static:
# the arm64 stub's copy loop (arch/arm64/relocate_walk.S) against the Rust model
# on every planned image, and the linear-map offset it subtracts. Needs the
# arm64 std that scripts/fetch-arm64.sh unpacks. Prints cargo's result lines.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

sysroot=$CACHE/arm64/sysroot
[ -d "$sysroot/lib/rustlib/aarch64-unknown-linux-gnu" ] ||
    die "no arm64 Rust sysroot in $sysroot: run scripts/fetch-arm64.sh"
cd "$REPO"
env RUSTC=/usr/bin/rustc \
    RUSTFLAGS="--sysroot=$sysroot -C target-feature=+crt-static" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64-static \
    cargo test --quiet --target aarch64-unknown-linux-gnu -p kexec-logic --test relocation "$@" 2>&1
