#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Everything before a kernel build: host packages and tools, the kernel source with
# our hooks, and a Rust toolchain the kernel accepts. Idempotent and quiet when done.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get install and the cache in $CACHE need it)"
mkdir -p "$CACHE"
"$REPO/scripts/setup-host.sh"
"$REPO/scripts/fetch-kernel.sh"
out=$("${KMAKE[@]}" ARCH=x86_64 -C "$SRC_DIR" rustavailable 2>&1) ||
    die "make rustavailable failed: $out"
log "$out"
