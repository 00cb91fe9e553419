#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks, rust against stock in one run (see tools/bench/bench.py):
#
#   tools/bench/run.sh [--reps N] [--loads N]
#   tools/bench/run.sh --growth N     how each cost grows (see bench.py)
#   tools/bench/run.sh --parts N      the reboot and the crash, part by part
#   tools/bench/run.sh --icount-only N the noise-free column alone (-icount)
#
# Sets up the host and builds the harness's two kernels and initramfs images if
# needed (nothing else), then writes results/bench/{results.json,chart.png} and
# Documentation/benchmarks.md, and prints the table.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

"$REPO/scripts/setup.sh"
for f in "${FLAVOURS[@]}"; do
    "$REPO/scripts/build-kernel.sh" "$f"
    "$REPO/tools/initramfs/build.sh" "$f"
done
version=$(make -s -C "$SRC_DIR" kernelversion 2>/dev/null)
exec "$CACHE/venv/bin/python3" "$REPO/tools/bench/bench.py" \
    --build "$BUILD_DIR" --out "$OUT_DIR" --kernel-version "$version" \
    --results "$REPO/results/bench" --markdown "$REPO/Documentation/benchmarks.md" "$@"
