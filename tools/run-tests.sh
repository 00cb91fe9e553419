#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run every test: host `cargo test`, then each QEMU scenario on the stock kernel
# (CONFIG_KEXEC_RUST=n, the reference) and on ours (CONFIG_KEXEC_RUST=y).
#
#   tools/run-tests.sh [--tier TIER[,TIER...]] [SCENARIO...]
#
#   (no --tier)      x86 and handover, what .ci/run runs
#   --tier x86       host tests, the stock and rust kernels, every scenario on
#                    both and the comparisons between them
#   --tier debug     the debug kernel (rust with KASAN, KFENCE, lockdep,
#                    DEBUG_PAGEALLOC, ...): every scenario on it, no sanitizer report
#   --tier handover  the handover-stock and handover-rust kernels (IMA_KEXEC,
#                    kexec handover, booted with kho=on; DMA_CMA; memory and CPU
#                    hotplug): handover kexec-cma kexec-file kdump-file hotplug
#                    hotplug-load virtio-mem kdump-cma on both, and the comparisons between them
#   --tier distro    the distro-stock and distro-rust kernels (Debian's own
#                    configuration, modules and debug info off): boot kexec
#                    kexec-file kdump kdump-file vmcore-pattern hotplug
#                    hotplug-load virtio-mem kdump-cma kdump-high kdump-fallback on both, the
#                    comparisons between them, and every part of ours in Rust
#   --tier arm64     the arm64-stock and arm64-rust kernels (QEMU virt, TCG):
#                    boot kexec kexec-file kexec-efi unload kexec-big kdump
#                    kdump-file kexec-el2 kdump-el2 kdump-high hibernate crashkernel-bad1..3 crash-shrink errno errno-file
#                    vmcore-pattern vmcore-bad crash-types (all but nmi) leak fuzz race on both, the arm64 stub's copy loop against the
#                    model under qemu-aarch64-static, the build checks and the
#                    comparisons between them
#   --tier all       all five
#
# Default scenarios: boot kexec kexec-file kexec-sig kexec-sig-nolockdown kexec-efi
# kexec-l4 unload kexec-big kdump
# kdump-file crashkernel-bad1 crashkernel-bad2 crashkernel-bad3 crash-shrink errno
# errno-file stub-exception vmcore-pattern vmcore-bad crash-types leak fuzz race
# handover kexec-cma hotplug hotplug-load virtio-mem kdump-cma kdump-high kdump-fallback; each flavour
# runs those of them it can
# (runs_on below): handover kexec-cma hotplug hotplug-load virtio-mem kdump-cma need what only the
# handover (and, for the last two, distro) flavours have.
#
# vmcore-bad is one crash per hand-made elfcorehdr (vmcore-pattern badcases
# lists them), crash-types one crash per way of dying ($CRASH_TYPES), on each kernel.
#
# One PASS/FAIL line per check, then "N passed, M failed". Exits 1 if any failed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

tier=x86,handover
if [ "${1:-}" = --tier ]; then
    tier=${2:?--tier needs x86, debug, handover, distro, arm64 or all (or a comma-separated list)}
    shift 2
fi
kernels=()
for t in ${tier//,/ }; do
    case $t in
        x86) kernels+=("${FLAVOURS[@]}") ;;
        debug) kernels+=(debug) ;;
        handover) kernels+=(handover-stock handover-rust) ;;
        distro) kernels+=(distro-stock distro-rust) ;;
        arm64) kernels+=(arm64-stock arm64-rust) ;;
        all) kernels+=("${FLAVOURS[@]}" debug handover-stock handover-rust distro-stock distro-rust arm64-stock arm64-rust) ;;
        *) die "unknown tier '$t' (x86, debug, handover, distro, arm64 or all)" ;;
    esac
done
# The handover flavours' scenarios: the hand-over itself, and the file loads
# (normal and crash) on kernels with IMA_KEXEC and kho=on; the crash image
# under memory and CPU hotplug and with crashkernel=,cma.
HANDOVER_SCENARIOS=" handover kexec-cma kexec-file kdump-file hotplug hotplug-load virtio-mem kdump-cma "
# The distro flavours': the main paths, and those that need Debian's options.
DISTRO_SCENARIOS=" boot kexec kexec-file kdump kdump-file vmcore-pattern hotplug hotplug-load virtio-mem kdump-cma kdump-high kdump-fallback "
# What only those flavours have: IMA_KEXEC, kexec handover, CMA, memory
# hotplug; and the 6 GiB kdumps above 4 GiB, run where KASLR is on (distro).
FEATURE_SCENARIOS=" handover kexec-cma hotplug hotplug-load virtio-mem kdump-cma kdump-high kdump-fallback "
# The arm64 flavours'.
ARM64_SCENARIOS=" boot kexec kexec-file kexec-efi unload kexec-big kdump kdump-file kexec-el2 kdump-el2 kdump-high hibernate crashkernel-bad1 crashkernel-bad2 crashkernel-bad3 crash-shrink errno errno-file vmcore-pattern vmcore-bad crash-types leak fuzz race "
# The arm64 flavours' only: the jump through EL2 (nVHE), and hibernation
# with a crash image loaded (the x86 fragments have no HIBERNATION).
ARM64_ONLY_SCENARIOS=" kexec-el2 kdump-el2 hibernate "
runs_on() { # FLAVOUR SCENARIO
    case $1 in
        handover-*) [ "${HANDOVER_SCENARIOS#* $2 }" != "$HANDOVER_SCENARIOS" ] ;;
        arm64-*) [ "${ARM64_SCENARIOS#* $2 }" != "$ARM64_SCENARIOS" ] ;;
        distro-*) [ "${DISTRO_SCENARIOS#* $2 }" != "$DISTRO_SCENARIOS" ] ;;
        *) [ "${FEATURE_SCENARIOS#* $2 }" = "$FEATURE_SCENARIOS" ] &&
            [ "${ARM64_ONLY_SCENARIOS#* $2 }" = "$ARM64_ONLY_SCENARIOS" ] ;;
    esac
}
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] ||
    scenarios=(boot kexec kexec-file kexec-sig kexec-sig-nolockdown kexec-efi kexec-l4 kexec-el2 unload kexec-big kdump kdump-file kdump-el2 hibernate
               crashkernel-bad1 crashkernel-bad2 crashkernel-bad3 crash-shrink errno errno-file stub-exception
               vmcore-pattern vmcore-bad crash-types leak fuzz race handover kexec-cma hotplug hotplug-load virtio-mem kdump-cma
               kdump-high kdump-fallback)
# The debug kernel runs some of the one-crash-per-case scenarios' cases: each
# of its captures takes minutes (KASAN and DEBUG_PAGEALLOC under TCG).
DEBUG_BAD_CASES="good load-ownram note-huge phnum-huge magic"
DEBUG_CRASH_TYPES="panic panic-irqoff hardlockup nmi"
has() { local x; for x in "${kernels[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
tier_start=$(date +%s)

"$REPO/scripts/setup.sh"

passed=0
failed=0
record() { # status line
    echo "$1 $2"
    if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

if has stock; then
log "host tests: cargo test"
cargo_log=$CACHE/cargo-test.log
if (cd "$REPO" && cargo test) >"$cargo_log" 2>&1; then
    grep '^test result' "$cargo_log"
    record PASS "host cargo test: $(grep -o '[0-9]* passed' "$cargo_log" | awk '{s += $1} END {print s}') tests"
else
    tail -n 40 "$cargo_log"
    record FAIL "host cargo test (log: $cargo_log)"
fi

log "serial log mender: a kernel message splitting one of init's KR- lines"
if out=$(python3 "$REPO/tools/qemu/mend-serial.py" --self-test 2>&1); then
    record PASS "host $out"
else
    echo "$out"
    record FAIL "host serial log mender (tools/qemu/mend-serial.py --self-test)"
fi

log "rustfmt: the crate (kernel-facing and pure modules) against the tree's .rustfmt.toml"
if out=$(rustfmt --edition 2021 --config-path "$SRC_DIR/.rustfmt.toml" --check "$REPO/rust/kexec_rust.rs" 2>&1); then
    record PASS "rustfmt: rust/ and arch/ formatted as the kernel tree's .rustfmt.toml asks"
else
    echo "$out" | head -n 40
    record FAIL "rustfmt: rust/ or arch/ not formatted (run rustfmt --config-path <tree>/.rustfmt.toml rust/kexec_rust.rs)"
fi

log "crashkernel=: the Rust parser against the stock one built from the kernel source"
if line=$("$REPO/tools/crashkernel/compare.sh" 2>&1 | tail -n 20); then
    record PASS "$(echo "$line" | tail -n 1)"
else
    echo "$line"
    record FAIL "crashkernel= parsers differ (tools/crashkernel/compare.sh)"
fi

log "host fuzzing: every pure parser and planner, a short coverage-guided run from the committed corpus"
fuzz_log=$CACHE/fuzz-short.log
if "$REPO/tools/fuzz/run.sh" >"$fuzz_log" 2>&1; then
    record PASS "host $(tail -n 1 "$fuzz_log") ($(grep -o '^fuzz [a-z]*: [0-9]* runs' "$fuzz_log" | head -n 1 | sed 's/.*: //') per target)"
else
    tail -n 20 "$fuzz_log"
    record FAIL "host fuzzing found a crash or did not run (log: $fuzz_log)"
fi
fi

for f in "${kernels[@]}"; do
    "$REPO/scripts/build-kernel.sh" "$f"
    "$REPO/tools/initramfs/build.sh" "$f"
done
# The arm64 stub's copy loop (arch/arm64/relocate_walk.S) against the Rust
# model on every planned image, as the x86 one in "host cargo test", built for
# aarch64 and run under qemu-aarch64-static (the arm64 std is fetched by
# scripts/fetch-arm64.sh, which the arm64 kernel builds run).
if has arm64-rust; then
    log "host tests: the arm64 relocation tests under qemu-aarch64-static"
    a64_log=$CACHE/arm64-relocation-test.log
    if "$REPO/tools/logic/arm64-test.sh" >"$a64_log" 2>&1 && line=$(grep '^test result: ok' "$a64_log"); then
        record PASS "host arm64 relocation tests (the arm64 stub's walk vs the model, qemu-aarch64-static): $(echo "$line" | grep -o '[0-9]* passed')"
    else
        tail -n 40 "$a64_log"
        record FAIL "host arm64 relocation tests (log: $a64_log)"
    fi
fi
# What each flavour compiled: ours replaces these objects, the stock one keeps them.
# A stale object from an earlier configuration would not be in built-in.a.
replaced=(kernel/kexec.o kernel/kexec_core.o kernel/crash_reserve.o kernel/crash_core.o kernel/vmcore_info.o
    arch/x86/kernel/machine_kexec_64.o arch/x86/kernel/relocate_kernel_64.o
    fs/proc/vmcore.o arch/x86/kernel/crash_dump_64.o kernel/elfcorehdr.o
    kernel/kexec_file.o arch/x86/kernel/kexec-bzimage64.o)
# built-in.a is a thin archive: it lists each object's path, subdirectories too.
# grep reads the whole listing (no -q): with pipefail, a grep that stopped at
# the first match could make llvm-ar die of SIGPIPE and the test look false.
built_in() { "llvm-ar$LLVM_SUFFIX" t "$BUILD_DIR/$1/$(dirname "$2")/built-in.a" 2>/dev/null | grep "\(^\|/\)$2\$" >/dev/null; }
for obj in "${replaced[@]}"; do
    if has stock; then
        if built_in rust "$obj"; then
            record FAIL "rust build: $obj is still built"
        elif ! built_in stock "$obj"; then
            record FAIL "stock build: $obj is missing (the reference must have it)"
        else
            record PASS "rust build: no $obj (stock has it)"
        fi
    fi
    if has debug; then
        if built_in debug "$obj"; then record FAIL "debug build: $obj is still built"
        else record PASS "debug build: no $obj"; fi
    fi
    # The other pairs: an object is gone where the option that replaces it is
    # on (the distro configuration turns some off: the banner check below).
    case $obj in
        kernel/kexec.o | kernel/kexec_core.o) opt=KEXEC_RUST ;;
        kernel/crash_*.o | kernel/vmcore_info.o) opt=KEXEC_RUST_CRASH ;;
        arch/x86/kernel/machine_kexec_64.o | arch/x86/kernel/relocate_kernel_64.o) opt=KEXEC_RUST_RELOCATE ;;
        kernel/kexec_file.o | arch/x86/kernel/kexec-bzimage64.o) opt=KEXEC_RUST_FILE ;;
        *) opt=KEXEC_RUST_VMCORE ;;
    esac
    for pair in handover distro; do
        has "$pair-rust" || continue
        if ! grep -q "^CONFIG_$opt=y" "$BUILD_DIR/$pair-rust/.config"; then
            if built_in "$pair-rust" "$obj"; then record PASS "$pair-rust build: $obj built (CONFIG_$opt is off)"
            else record FAIL "$pair-rust build: no $obj though CONFIG_$opt is off"; fi
        elif built_in "$pair-rust" "$obj"; then
            record FAIL "$pair-rust build: $obj is still built"
        elif ! built_in "$pair-stock" "$obj"; then
            record FAIL "$pair-stock build: $obj is missing (the reference must have it)"
        else
            record PASS "$pair-rust build: no $obj ($pair-stock has it)"
        fi
    done
done
# arm64: the generic and arm64 objects ours replaces are gone, kexec_file_load
# and its Image loader included.
if has arm64-rust; then
    for obj in kernel/kexec.o kernel/kexec_core.o kernel/crash_reserve.o kernel/crash_core.o kernel/vmcore_info.o \
        fs/proc/vmcore.o kernel/elfcorehdr.o arch/arm64/kernel/machine_kexec.o arch/arm64/kernel/relocate_kernel.o \
        arch/arm64/kernel/cpu-reset.o arch/arm64/kernel/crash_dump.o kernel/kexec_file.o \
        arch/arm64/kernel/machine_kexec_file.o arch/arm64/kernel/kexec_image.o; do
        if built_in arm64-rust "$obj"; then
            record FAIL "arm64-rust build: $obj is still built"
        elif ! built_in arm64-stock "$obj"; then
            record FAIL "arm64-stock build: $obj is missing (the reference must have it)"
        else
            record PASS "arm64-rust build: no $obj (arm64-stock has it)"
        fi
    done
fi
# Our helpers are built into the kernel's rust/helpers/helpers.o (hook patch 0006).
helpers=$("llvm-nm$LLVM_SUFFIX" --defined-only "$BUILD_DIR/rust/rust/helpers/helpers.o" 2>/dev/null |
    grep -c ' rust_helper_kexec_rust_' || true)
# ... and stay private to vmlinux: none of them in the kernel's helper exports.
exports=$BUILD_DIR/rust/rust/exports_helpers_generated.h
if [ -f "$exports" ]; then exported=$(grep -c 'rust_helper_kexec_rust_' "$exports" || true); else exported="no $exports"; fi
if ! has rust; then
    :
elif built_in rust kexec_rust/rust/kexec_rust.o && built_in rust kexec_rust/rust/kexec_glue.o &&
    built_in rust kexec_rust/arch/x86/relocate_kernel.o && [ "$helpers" -gt 0 ] && [ "$exported" = 0 ]; then
    record PASS "rust build: kexec_rust.o, kexec_glue.o and arch/x86/relocate_kernel.o linked into vmlinux, $helpers kexec_rust helpers in rust/helpers/helpers.o, none exported to modules"
else
    record FAIL "rust build: kexec_rust objects missing from built-in.a (or helpers: $helpers built, $exported exported to modules)"
fi

bad_cases=()
for s in "${scenarios[@]}"; do
    flavours=("${kernels[@]}")
    # The stock stub's exception reporter halts the machine: nothing to compare.
    if [ "$s" = stub-exception ]; then
        flavours=()
        for f in "${kernels[@]}"; do [ "$f" = stock ] || flavours+=("$f"); done
    fi
    case $s in
        vmcore-bad)
            # The case list comes from the host's build of the guest program,
            # which only the x86 initramfs builds make: build it here as they
            # do (an arm64-only run has none), and never run no cases.
            (cd "$REPO" && RUSTFLAGS="-C target-feature=+crt-static -C strip=symbols" \
                cargo build --quiet --release --target x86_64-unknown-linux-gnu -p kexec-errno -p kexec-bench \
                    -p vmcore-pattern -p kexec-fuzz) || die "building the host's vmcore-pattern failed"
            read -ra bad_cases <<<"$("$CARGO_TARGET/x86_64-unknown-linux-gnu/release/vmcore-pattern" badcases)"
            [ ${#bad_cases[@]} -gt 0 ] || die "vmcore-pattern badcases listed no case"
            cases=("${bad_cases[@]}") debug_cases=" $DEBUG_BAD_CASES " ;;
        crash-types) read -ra cases <<<"$CRASH_TYPES"; debug_cases=" $DEBUG_CRASH_TYPES " ;;
        *) cases=("") debug_cases="" ;;
    esac
    keep=()
    for f in "${flavours[@]}"; do runs_on "$f" "$s" && keep+=("$f"); done
    flavours=("${keep[@]}")
    for c in "${cases[@]}"; do
        for f in "${flavours[@]}"; do
            [ "$f" != debug ] || [ -z "$c" ] || [ "${debug_cases#* $c }" != "$debug_cases" ] || continue
            if [ "$s" = crash-types ] && [ "$(flavour_arch "$f")" = arm64 ]; then
                case " $ARM64_CRASH_TYPES " in *" $c "*) ;; *) continue ;; esac
            fi
            if line=$(KR_CASE=$c "$REPO/tools/qemu/run-scenario.sh" "$f" "$s"); then
                record PASS "${line#PASS }"
            else
                record FAIL "${line#FAIL }"
            fi
        done
    done
done

# Same scenario, two kernels: their vmcores must have the same layout (program
# headers, notes, VMCOREINFO keys, and the values of its sizes and offsets).
# A comparison runs for every scenario of this run; its inputs must exist (a
# scenario that failed before writing them fails the comparison too).
ran() { has stock && has rust || return 1; local x; for x in "${scenarios[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
missing() { # what file...
    local what=$1 f; shift
    for f in "$@"; do
        [ -f "$f" ] || { record FAIL "$what: no $f to compare"; return 0; }
    done
    return 1
}
for s in kdump kdump-file; do
    ran "$s" || continue
    missing "$s" "$OUT_DIR/stock/$s/layout.txt" "$OUT_DIR/rust/$s/layout.txt" && continue
    if diff -u "$OUT_DIR/stock/$s/layout.txt" "$OUT_DIR/rust/$s/layout.txt" >"$OUT_DIR/$s-layout.diff"; then
        record PASS "$s: stock and rust vmcores have the same layout ($(wc -l <"$OUT_DIR/rust/$s/layout.txt") lines, $(grep -c '^vmcoreinfo' "$OUT_DIR/rust/$s/layout.txt") VMCOREINFO keys)"
    else
        cat "$OUT_DIR/$s-layout.diff"
        record FAIL "$s: stock and rust vmcore layouts differ (see $OUT_DIR/$s-layout.diff)"
    fi
done

# The hand-made elfcorehdrs: what each kernel did, side by side.
for pair in x86 arm64; do
    [ ${#bad_cases[@]} -gt 0 ] || break
    if [ "$pair" = x86 ]; then ks=("${FLAVOURS[@]}") out=$OUT_DIR/vmcore-bad.txt; else ks=(arm64-stock arm64-rust) out=$OUT_DIR/arm64-vmcore-bad.txt; fi
    has "${ks[0]}" || continue
    for c in "${bad_cases[@]}"; do
        for f in "${ks[@]}"; do
            echo "$f: $(tr '\n' ';' <"$OUT_DIR/$f/vmcore-bad-$c/outcome.txt" 2>/dev/null || echo "no outcome")"
        done
    done >"$out"
    log "hand-made elfcorehdrs, both kernels: $out"
done

# A malformed crashkernel=, and writes to kexec_crash_size, must have the same
# outcome on both kernels.
for s in crashkernel-bad1 crashkernel-bad2 crashkernel-bad3 crash-shrink; do
    ran "$s" || continue
    missing "$s" "$OUT_DIR/stock/$s/outcome.txt" "$OUT_DIR/rust/$s/outcome.txt" && continue
    if diff -u "$OUT_DIR/stock/$s/outcome.txt" "$OUT_DIR/rust/$s/outcome.txt" >"$OUT_DIR/$s.diff"; then
        record PASS "$s: same outcome on both kernels ($(tr '\n' ';' <"$OUT_DIR/rust/$s/outcome.txt"))"
    else
        cat "$OUT_DIR/$s.diff"
        record FAIL "$s: stock and rust outcomes differ (see $OUT_DIR/$s.diff)"
    fi
done

# The same kexec_load inputs must get the same answers from both kernels.
if ran errno && ! missing errno "$OUT_DIR/stock/errno/errno.txt" "$OUT_DIR/rust/errno/errno.txt"; then
    if diff -u "$OUT_DIR/stock/errno/errno.txt" "$OUT_DIR/rust/errno/errno.txt" >"$OUT_DIR/errno.diff"; then
        record PASS "errno: stock and rust answer all $(grep -c '^[0-9][0-9] ' "$OUT_DIR/rust/errno/errno.txt") kexec_load cases alike"
    else
        cat "$OUT_DIR/errno.diff"
        record FAIL "errno: stock and rust answers differ (see $OUT_DIR/errno.diff)"
    fi
fi

# The same kexec_file_load inputs: the same answers and sysfs state after each
# call; then the kernel's lines of each call (stock's texts, addresses masked).
if ran errno-file && ! missing errno-file "$OUT_DIR/stock/errno-file/file-errno.txt" "$OUT_DIR/rust/errno-file/file-errno.txt"; then
    fe_stock=$OUT_DIR/stock/errno-file/file-errno.txt fe_rust=$OUT_DIR/rust/errno-file/file-errno.txt
    if diff -u --label "$fe_stock" --label "$fe_rust" <(grep -v '^   log: ' "$fe_stock") <(grep -v '^   log: ' "$fe_rust") >"$OUT_DIR/errno-file.diff"; then
        record PASS "errno-file: stock and rust answer all $(grep -c '^[0-9]\{2,\} ' "$fe_rust") kexec_file_load cases alike (errno, kexec_loaded, kexec_crash_loaded, kexec_crash_size)"
    else
        cat "$OUT_DIR/errno-file.diff"
        record FAIL "errno-file: stock and rust answers differ (see $OUT_DIR/errno-file.diff)"
    fi
    if diff -u "$fe_stock" "$fe_rust" >"$OUT_DIR/errno-file-log.diff"; then
        record PASS "errno-file: stock and rust log the same lines ($(grep -c '^   log: ' "$fe_rust"), addresses masked) in those cases"
    else
        head -n 60 "$OUT_DIR/errno-file-log.diff"
        record FAIL "errno-file: stock's and rust's log lines differ (see $OUT_DIR/errno-file-log.diff)"
    fi
fi

# Signed images, with and without lockdown: the same errno and kexec_loaded for
# each image and for kexec_load, and the same PEFILE:/Lockdown: lines.
for s in kexec-sig kexec-sig-nolockdown; do
    ran "$s" || continue
    missing "$s" "$OUT_DIR/stock/$s/sig.txt" "$OUT_DIR/rust/$s/sig.txt" && continue
    if diff -u "$OUT_DIR/stock/$s/sig.txt" "$OUT_DIR/rust/$s/sig.txt" >"$OUT_DIR/$s.diff"; then
        record PASS "$s: stock and rust answer the trusted, untrusted, unsigned and modified images and kexec_load alike ($(grep ' kexec_loaded=' "$OUT_DIR/rust/$s/sig.txt" | cut -d' ' -f1,2 | paste -sd ';' | sed 's/;/; /g'))"
    else
        cat "$OUT_DIR/$s.diff"
        record FAIL "$s: stock and rust answers differ (see $OUT_DIR/$s.diff)"
    fi
done

# The fuzzer's replay of a fixed seed: the same answer and state after every call.
if ran fuzz && ! missing fuzz "$OUT_DIR/stock/fuzz/fuzz.txt" "$OUT_DIR/rust/fuzz/fuzz.txt"; then
    if diff -u "$OUT_DIR/stock/fuzz/fuzz.txt" "$OUT_DIR/rust/fuzz/fuzz.txt" >"$OUT_DIR/fuzz.diff"; then
        record PASS "fuzz: stock and rust answer all $(grep -c '^[0-9]\{5,\} ' "$OUT_DIR/rust/fuzz/fuzz.txt") replayed calls alike (errno, kexec_loaded, kexec_crash_loaded, kexec_crash_size)"
    else
        head -n 40 "$OUT_DIR/fuzz.diff"
        record FAIL "fuzz: stock and rust replays differ (see $OUT_DIR/fuzz.diff)"
    fi
fi

# The handover flavours: the same placement in KHO's scratch areas and the
# same measurement lists before and after the kexec; the same vmcore layout.
ran_pair() { has handover-stock && has handover-rust || return 1; local x; for x in "${scenarios[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
if ran_pair handover && ! missing handover "$OUT_DIR/handover-stock/handover/handover.txt" "$OUT_DIR/handover-rust/handover/handover.txt"; then
    if diff -u "$OUT_DIR/handover-stock/handover/handover.txt" "$OUT_DIR/handover-rust/handover/handover.txt" >"$OUT_DIR/handover.diff"; then
        record PASS "handover: handover-stock and handover-rust place all $(grep -c '^segment ' "$OUT_DIR/handover-rust/handover/handover.txt") segments alike in KHO scratch and carry the same $(grep -c '^carried: ' "$OUT_DIR/handover-rust/handover/handover.txt") IMA measurements over"
    else
        cat "$OUT_DIR/handover.diff"
        record FAIL "handover: the two kernels differ (see $OUT_DIR/handover.diff)"
    fi
fi
# kexec-cma: where each kernel put the segments, side by side (stock's kernel
# segment is in a block aligned below its kernel_alignment, ours is not).
if ran_pair kexec-cma; then
    for f in handover-stock handover-rust; do
        echo "== $f"; cat "$OUT_DIR/$f/kexec-cma/cma.txt" 2>/dev/null || echo "no placement"
    done >"$OUT_DIR/kexec-cma.txt"
    log "kexec-cma placement, both kernels: $OUT_DIR/kexec-cma.txt"
fi
# The handover and distro pairs: the same vmcore layout (program headers,
# notes, VMCOREINFO keys and the values of its sizes and offsets).
ran_in() { # PAIR SCENARIO
    has "$1-stock" && has "$1-rust" && runs_on "$1-rust" "$2" || return 1
    local x; for x in "${scenarios[@]}"; do [ "$x" = "$2" ] && return 0; done; return 1
}
# Debian's configuration has KASLR: where the kernel sits, and VMALLOC_START,
# differ from boot to boot, so their values are masked. With crashkernel=,cma
# and the reservations of 6 GiB guests, what is reserved lands beside the
# (randomly placed) kernel, so there the RAM PT_LOADs are compared by the RAM
# they cover (the checker's count) instead.
kaslr_mask() {
    sed 's/^\(phdr PT_LOAD kernel text paddr=\).*/\1<KASLR>/; s/^\(vmcoreinfo NUMBER(VMALLOC_START)=\).*/\1<KASLR>/' "$1"
}
layout_of() { # PAIR FLAVOUR SCENARIO
    local f=$OUT_DIR/$2/$3/layout.txt
    [ "$1" = distro ] || { cat "$f"; return; }
    if [ "$3" = kdump-cma ] || [ "$3" = kdump-high ] || [ "$3" = kdump-fallback ]; then
        kaslr_mask "$f" | grep -v '^phdr PT_LOAD paddr='
        echo "RAM in PT_LOADs: $(grep -o 'covering [0-9]* MiB of RAM' "$OUT_DIR/$2/$3/check.log" || echo unknown)"
    else
        kaslr_mask "$f"
    fi
}
for pair in handover distro arm64; do
    for s in kdump kdump-file kdump-cma kdump-high kdump-fallback; do
        ran_in "$pair" "$s" || continue
        a=$OUT_DIR/$pair-stock/$s/layout.txt b=$OUT_DIR/$pair-rust/$s/layout.txt
        missing "$pair $s" "$a" "$b" && continue
        if diff -u --label "$a" --label "$b" <(layout_of "$pair" "$pair-stock" "$s") <(layout_of "$pair" "$pair-rust" "$s") >"$OUT_DIR/$pair-$s-layout.diff"; then
            record PASS "$s: $pair-stock and $pair-rust vmcores have the same layout ($(wc -l <"$b") lines, $(grep -c '^vmcoreinfo' "$b") VMCOREINFO keys)"
        else
            cat "$OUT_DIR/$pair-$s-layout.diff"
            record FAIL "$s: $pair-stock and $pair-rust vmcore layouts differ (see $OUT_DIR/$pair-$s-layout.diff)"
        fi
    done
done
# makedumpfile -l -d 31 on both kernels' vmcores: the same pages to start
# from (within 0.1%: kexec_load's kernel-text PT_LOAD follows the kernel's
# size), the same kinds of pages found to leave out (free, cache, user, zero:
# only through VMCOREINFO can it tell them apart), and free pages within 10
# points of the whole (the two guests' memory is not the same page for page).
d31_alike() { # A B -> a one-line summary; fails if they differ
    python3 - "$1" "$2" <<'PY'
import sys
a, b = ({k: int(v) for k, v in (l.split() for l in open(p))} for p in sys.argv[1:3])
why = []
if abs(a["original"] - b["original"]) * 1000 > a["original"]:
    why.append("original pages %d and %d" % (a["original"], b["original"]))
for k in ("free", "cache", "user", "zero"):
    if (a[k] > 0) != (b[k] > 0):
        why.append("%s pages %d and %d" % (k, a[k], b[k]))
fa, fb = (100.0 * x["free"] / x["original"] for x in (a, b))
if abs(fa - fb) > 10:
    why.append("free pages %.1f%% and %.1f%% of all" % (fa, fb))
ka, kb = (100.0 * x["remaining"] / x["original"] for x in (a, b))
line = "%d/%d pages; free %.1f%%/%.1f%%, cache %d/%d, user %d/%d, zero %d/%d left out; %.1f%%/%.1f%% kept" % (
    a["original"], b["original"], fa, fb, a["cache"], b["cache"], a["user"], b["user"], a["zero"], b["zero"], ka, kb)
print(line + ("; differ: " + ", ".join(why) if why else ""))
sys.exit(1 if why else 0)
PY
}
for pair in x86 handover distro arm64; do
    for s in kdump kdump-file kdump-cma kdump-high kdump-fallback; do
        if [ "$pair" = x86 ]; then
            ran "$s" && runs_on rust "$s" || continue
            sa=stock sb=rust
        else
            ran_in "$pair" "$s" || continue
            sa=$pair-stock sb=$pair-rust
        fi
        a=$OUT_DIR/$sa/$s/d31.txt b=$OUT_DIR/$sb/$s/d31.txt
        missing "$s makedumpfile -d 31" "$a" "$b" && continue
        if line=$(d31_alike "$a" "$b"); then
            record PASS "$s: makedumpfile -l -d 31 filters the $sa and $sb vmcores alike ($line)"
        else
            record FAIL "$s: makedumpfile -l -d 31 filters the $sa and $sb vmcores differently ($line)"
        fi
    done
done
# Above 4 GiB: the same reservations (size, and which side of 4 GiB; where
# KASLR put each kernel moves them about).
# same_outcome A B DIFF PASS FAIL: the two kernels' outcome files A and B must
# be the same; PASS and FAIL are the check's lines ("(see DIFF)" added).
same_outcome() {
    if diff -u "$1" "$2" >"$3"; then
        record PASS "$4"
    else
        cat "$3"
        record FAIL "$5 (see $3)"
    fi
}
if ran_in arm64 errno && ! missing "arm64 errno" "$OUT_DIR/arm64-stock/errno/errno.txt" "$OUT_DIR/arm64-rust/errno/errno.txt"; then
    same_outcome "$OUT_DIR/arm64-stock/errno/errno.txt" "$OUT_DIR/arm64-rust/errno/errno.txt" "$OUT_DIR/arm64-errno.diff" \
        "errno: arm64-stock and arm64-rust answer all $(grep -c '^[0-9][0-9] ' "$OUT_DIR/arm64-rust/errno/errno.txt") kexec_load cases alike" \
        "errno: arm64-stock and arm64-rust answers differ"
fi
# The fuzzer's replay (its Image mutations and arm64's KEXEC_ARCH): the same
# answer and state after every call.
if ran_in arm64 fuzz && ! missing "arm64 fuzz" "$OUT_DIR/arm64-stock/fuzz/fuzz.txt" "$OUT_DIR/arm64-rust/fuzz/fuzz.txt"; then
    same_outcome "$OUT_DIR/arm64-stock/fuzz/fuzz.txt" "$OUT_DIR/arm64-rust/fuzz/fuzz.txt" "$OUT_DIR/arm64-fuzz.diff" \
        "fuzz: arm64-stock and arm64-rust answer all $(grep -c '^[0-9]\{5,\} ' "$OUT_DIR/arm64-rust/fuzz/fuzz.txt") replayed calls alike (errno, kexec_loaded, kexec_crash_loaded, kexec_crash_size)" \
        "fuzz: arm64-stock and arm64-rust replays differ"
fi
# The kexec_file_load corpus with arm64's Image cases: answers, then log lines.
if ran_in arm64 errno-file && ! missing "arm64 errno-file" "$OUT_DIR/arm64-stock/errno-file/file-errno.txt" \
    "$OUT_DIR/arm64-rust/errno-file/file-errno.txt"; then
    fe_stock=$OUT_DIR/arm64-stock/errno-file/file-errno.txt fe_rust=$OUT_DIR/arm64-rust/errno-file/file-errno.txt
    same_outcome <(grep -v '^   log: ' "$fe_stock") <(grep -v '^   log: ' "$fe_rust") "$OUT_DIR/arm64-errno-file.diff" \
        "errno-file: arm64-stock and arm64-rust answer all $(grep -c '^[0-9]\{2,\} ' "$fe_rust") kexec_file_load cases alike (errno, kexec_loaded, kexec_crash_loaded, kexec_crash_size)" \
        "errno-file: arm64-stock and arm64-rust answers differ"
    same_outcome "$fe_stock" "$fe_rust" "$OUT_DIR/arm64-errno-file-log.diff" \
        "errno-file: arm64-stock and arm64-rust log the same lines ($(grep -c '^   log: ' "$fe_rust"), addresses masked) in those cases" \
        "errno-file: arm64-stock's and arm64-rust's log lines differ"
fi
# The next kernel's device tree from kexec_file_load (arm64.rs's fdt.rs against
# drivers/of/kexec.c): the same /chosen properties and sizes, the same
# bootargs, the same number of memory reservations.
for s in kexec-file kdump-file; do
    ran_in arm64 "$s" || continue
    a=$OUT_DIR/arm64-stock/$s/chosen.txt b=$OUT_DIR/arm64-rust/$s/chosen.txt
    missing "arm64 $s device tree" "$a" "$b" && continue
    [ -s "$b" ] || { record FAIL "$s: arm64-rust's next kernel reported no /chosen"; continue; }
    same_outcome "$a" "$b" "$OUT_DIR/arm64-$s-chosen.diff" \
        "$s: arm64-stock's and arm64-rust's kexec_file_load device trees alike in /chosen ($(cut -c1-160 "$b")...)" \
        "$s: the two kernels' kexec_file_load device trees differ in /chosen"
done
for s in crashkernel-bad1 crashkernel-bad2 crashkernel-bad3 crash-shrink; do
    ran_in arm64 "$s" || continue
    a=$OUT_DIR/arm64-stock/$s/outcome.txt b=$OUT_DIR/arm64-rust/$s/outcome.txt
    missing "arm64 $s" "$a" "$b" && continue
    same_outcome "$a" "$b" "$OUT_DIR/arm64-$s.diff" \
        "$s: arm64-stock and arm64-rust same outcome ($(paste -sd';' "$b"))" \
        "$s: arm64-stock and arm64-rust outcomes differ"
done
for s in kdump-high kdump-fallback; do
    ran_in distro "$s" || continue
    a=$OUT_DIR/distro-stock/$s/outcome.txt b=$OUT_DIR/distro-rust/$s/outcome.txt
    missing "$s" "$a" "$b" && continue
    same_outcome "$a" "$b" "$OUT_DIR/$s.diff" \
        "$s: distro-stock and distro-rust reserve alike ($(paste -sd';' "$b" | sed 's/;/; /g'))" \
        "$s: the two kernels' reservations differ"
done
# hotplug, hotplug-load: what each kernel's vmcore held of the added and the
# removed DIMM.
for s in hotplug hotplug-load; do
    ran_pair "$s" || ran_in distro "$s" || continue
    for f in handover-stock handover-rust distro-stock distro-rust; do
        has "$f" || continue
        echo "$f: $(cat "$OUT_DIR/$f/$s/outcome.txt" 2>/dev/null || echo "no outcome")"
    done >"$OUT_DIR/$s.txt"
    log "$s outcomes: $OUT_DIR/$s.txt"
done
# virtio-mem: the same device memory plugged, and read the same way, on both.
for pair in handover distro; do
    ran_in "$pair" virtio-mem || continue
    a=$OUT_DIR/$pair-stock/virtio-mem/outcome.txt b=$OUT_DIR/$pair-rust/virtio-mem/outcome.txt
    missing "$pair virtio-mem" "$a" "$b" && continue
    same_outcome "$a" "$b" "$OUT_DIR/$pair-virtio-mem.diff" \
        "virtio-mem: $pair-stock and $pair-rust read the device's memory alike ($(cat "$b"))" \
        "virtio-mem: $pair-stock and $pair-rust differ"
done
# Debian's configuration: every part of ours in Rust there (the banner).
if has distro-rust; then
    banner=$(grep -a -m1 -h 'kexec_rust: Rust kexec/kdump overlay active' "$OUT_DIR"/distro-rust/*/serial.log 2>/dev/null |
        sed 's/\r$//; s/^\[ *[0-9.]*\] //' || true)
    if [ -z "$banner" ]; then
        record FAIL "distro-rust: no kexec_rust banner in any of its runs"
    elif echo "$banner" | grep -q ': C[,)]'; then
        record FAIL "distro-rust: parts still C on Debian's configuration: $banner"
    else
        record PASS "distro-rust: every part in Rust on Debian's configuration: $banner"
    fi
fi

log "tier $tier: $((passed + failed)) checks in $(( $(date +%s) - tier_start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
