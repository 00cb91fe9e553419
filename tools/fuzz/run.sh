#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Coverage-guided fuzzing of the pure kexec logic (rust/*.rs, built for the host
# through tools/logic) with libFuzzer, on the stable toolchain: the targets in
# tools/fuzz/fuzz_targets/ are built with SanitizerCoverage and the kernel's
# overflow checks, then each runs on a copy of its committed seed corpus.
#
#   bash tools/fuzz/run.sh [--runs N] [--time SECONDS] [--merge-into-repo] [TARGET...]
#
#   --runs N           executions per target (default 20000: about 15 s for all)
#   --time SECONDS     also stop each target after this long (-max_total_time)
#   --merge-into-repo  afterwards, merge the run's new inputs into
#                      tools/fuzz/corpus/TARGET, minimized (the fewest inputs that
#                      reach every edge, merged into a fresh directory that then
#                      replaces it); commit the result
#
# Default targets: every file in tools/fuzz/fuzz_targets/. The corpus copies,
# logs and crash artifacts are under $KEXEC_RUST_CACHE/fuzz/TARGET/; the repo's
# corpus is only written by --merge-into-repo. One line per target, then
# "fuzz: all K targets, 0 crashes"; exits 1 if a target crashed (a panic or an
# arithmetic overflow: a bug in kernel code), naming the input that did it.
# Long runs: nice -n 19 bash tools/fuzz/run.sh --runs 1000000
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

FUZZ=$REPO/tools/fuzz
WORK=$CACHE/fuzz
# Its own target directory: these flags would rebuild the workspace's crates.
export CARGO_TARGET_DIR=$CACHE/cargo-target/fuzz

runs=20000
max_time=0
merge=0
targets=()
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --time) max_time=${2:?--time needs seconds}; shift 2 ;;
        --merge-into-repo) merge=1; shift ;;
        -h|--help) sed -n '3,23p' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) targets+=("$1"); shift ;;
    esac
done
all=()
for f in "$FUZZ"/fuzz_targets/*.rs; do all+=("$(basename "$f" .rs)"); done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [ -f "$FUZZ/fuzz_targets/$t.rs" ] || die "no fuzz target '$t' (have: ${all[*]})"
done

# libfuzzer-sys compiles libFuzzer's C++ with the cc crate: clang++-19 comes
# with clang-19 (scripts/setup-host.sh installs it); any c++ does too.
if command -v clang++-19 >/dev/null; then
    export CXX=clang++-19
elif command -v c++ >/dev/null; then
    export CXX=c++
else
    log "no C++ compiler: installing clang-19"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-19 >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends clang-19 >/dev/null; } ||
        die "cannot install clang-19 (a C++ compiler for libFuzzer)"
    export CXX=clang++-19
fi

# SanitizerCoverage as cargo-fuzz sets it up, with stable flags only, and the
# kernel's checks (CONFIG_RUST_OVERFLOW_CHECKS, debug assertions). --target
# keeps these flags off build scripts, which have no libFuzzer to link.
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
mkdir -p "$WORK"
log "fuzz: building ${#targets[@]} targets (CXX=$CXX, $host)"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
cargo build --release --locked --target "$host" --manifest-path "$FUZZ/Cargo.toml" "${bins[@]}" \
    >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log"; die "fuzz build failed (log: $WORK/build.log)"; }
bin=$CARGO_TARGET_DIR/$host/release

# Tokens of the crashkernel= grammar, for the mutator.
cat >"$WORK/crashkernel.dict" <<'EOF'
"crashkernel="
",high"
",low"
",cma"
"@"
":"
"-"
","
" "
"0x"
"K"
"M"
"G"
"T"
"P"
"E"
EOF

# "#N DONE cov: C ft: F corp: K/..." is libFuzzer's last status line.
field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$2"; }

crashed=()
for t in "${targets[@]}"; do
    d=$WORK/$t
    # A fresh copy of the corpus each run; crash artifacts are kept.
    rm -rf "$d/corpus"
    mkdir -p "$d/corpus" "$d/artifacts"
    [ -d "$FUZZ/corpus/$t" ] && cp -r "$FUZZ/corpus/$t/." "$d/corpus/"
    args=(-runs="$runs" -rss_limit_mb=2048 -print_final_stats=1 -timeout=60
          -artifact_prefix="$d/artifacts/")
    [ "$max_time" != 0 ] && args+=(-max_total_time="$max_time")
    # Inputs up to a page (the crashed kernel's memory for corehdr: two).
    case $t in
        crashkernel) maxlen=512; args+=(-dict="$WORK/crashkernel.dict") ;;
        corehdr) maxlen=8192 ;;
        *) maxlen=4096 ;;
    esac
    args+=(-max_len="$maxlen")
    start=$(date +%s.%N)
    rc=0
    "$bin/$t" "${args[@]}" "$d/corpus" >"$d/log" 2>&1 || rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    status=$(grep -E '^#[0-9]+' "$d/log" | tail -n 1 || true)
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log")
    n=${n:-$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$status")}
    cov=$(field cov "$status")
    ft=$(field ft "$status")
    corp=$(ls "$d/corpus" | wc -l)
    if [ "$rc" -ne 0 ]; then
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$d/log" | tail -n 1)
        why=$(grep -m 1 -A 1 'panicked at' "$d/log" | tail -n 1 || true)
        [ -n "$why" ] || why=$(grep -m 1 'ERROR: libFuzzer' "$d/log" || echo "exit status $rc")
        echo "fuzz $t: CRASH after ${n:-?} runs in $secs s: $why"
        echo "fuzz $t:   input: ${artifact:-none} (replay: $bin/$t ${artifact:-ARTIFACT}); log: $d/log"
        crashed+=("$t")
        continue
    fi
    if [ -z "$cov" ] || [ "$cov" -eq 0 ]; then
        echo "fuzz $t: no coverage feedback (cov ${cov:-?}): the instrumentation is off (log: $d/log)"
        crashed+=("$t")
        continue
    fi
    echo "fuzz $t: $n runs, cov $cov, ft $ft, corpus $corp, 0 crashes in $secs s"
    if [ "$merge" = 1 ]; then
        rm -rf "$d/merged"
        mkdir -p "$d/merged" "$FUZZ/corpus/$t"
        # The smallest set of inputs (greedy set cover) that reaches every
        # edge the committed corpus and this run reached: a few dozen files.
        "$bin/$t" -set_cover_merge=1 -use_counters=0 -rss_limit_mb=2048 -timeout=60 -max_len="$maxlen" \
            "$d/merged" "$FUZZ/corpus/$t" "$d/corpus" >"$d/merge.log" 2>&1 ||
            die "fuzz $t: merge failed (log: $d/merge.log)"
        find "$FUZZ/corpus/$t" -type f -delete
        cp "$d"/merged/* "$FUZZ/corpus/$t/"
        echo "fuzz $t:   merged into tools/fuzz/corpus/$t: $(ls "$FUZZ/corpus/$t" | wc -l) inputs," \
            "$(cat "$FUZZ/corpus/$t"/* | wc -c) bytes"
    fi
done

if [ ${#crashed[@]} -gt 0 ]; then
    echo "fuzz: ${#targets[@]} targets, ${#crashed[@]} crashed: ${crashed[*]}"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets, 0 crashes"
