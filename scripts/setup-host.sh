#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what the host needs to build and test: Debian packages, bindgen, drgn.
# Idempotent: a second run checks and prints versions only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PACKAGES=(
    rustc-web rust-web-src
    clang-19 lld-19 llvm-19 libclang-19-dev
    make bc flex bison libelf-dev libssl-dev cpio xz-utils gzip
    qemu-system-x86 ovmf kexec-tools busybox-static
    binutils makedumpfile python3-venv
    gcc libc6-dev zlib1g-dev liblzma-dev dpkg-dev
    openssl sbsigntool
)

install_packages "${PACKAGES[@]}"

# bindgen: the kernel tree needs >= 0.71.1; build it once into the cache.
if ! [ -x "$BINDGEN" ]; then
    log "building bindgen-cli into $TOOLS_DIR (a few minutes, once)"
    mkdir -p "$TOOLS_DIR"
    timeout 1800 cargo install --quiet --locked --root "$TOOLS_DIR" bindgen-cli@0.73.2 ||
        die "cargo install bindgen-cli failed"
fi

# drgn reads the vmcore on the host as an independent check.
if ! [ -x "$CACHE/venv/bin/drgn" ]; then
    log "installing drgn into $CACHE/venv"
    rm -rf "$CACHE/venv"
    /usr/bin/python3 -m venv "$CACHE/venv"
    timeout 900 "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check drgn ||
        die "pip install drgn failed"
fi

# matplotlib draws the benchmark chart (tools/bench).
if ! "$CACHE/venv/bin/python3" -c 'import matplotlib' 2>/dev/null; then
    log "installing matplotlib into $CACHE/venv"
    timeout 900 "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check matplotlib ||
        die "pip install matplotlib failed"
fi

log "host tools:"
show_version rustc /usr/bin/rustc --version
show_version bindgen "$BINDGEN" --version
show_version clang clang$LLVM_SUFFIX --version
show_version ld.lld ld.lld$LLVM_SUFFIX --version
show_version qemu qemu-system-x86_64 --version
show_version kexec-tools kexec --version
show_version busybox sh -c 'busybox | head -n 1'
show_version makedumpfile sh -c 'makedumpfile -v | grep -m1 makedumpfile'
show_version openssl openssl version
show_version sbsign sbsign --version
show_version drgn "$CACHE/venv/bin/drgn" --version
show_version cargo cargo --version
