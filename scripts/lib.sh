# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers for the host scripts. Source it; do not run it.
#
# Every path that outlives a run lives under $KEXEC_RUST_CACHE (default
# /var/cache/kexec-rust), never inside the clone.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KEXEC_RUST_CACHE:-/var/cache/kexec-rust}
# The Debian package that carries the kernel tarball, and the suite it comes from.
KERNEL_PKG=${KERNEL_PKG:-linux-source-7.3}
KERNEL_SUITE=${KERNEL_SUITE:-trixie-backports}
KERNEL_MIRROR=${KERNEL_MIRROR:-http://deb.debian.org/debian}
# Debian's configuration of that kernel (the distro flavours' base), same suite.
KERNEL_CONFIG_PKG=${KERNEL_CONFIG_PKG:-linux-config-7.3}
DISTRO_CONFIG_NAME=${DISTRO_CONFIG_NAME:-config.amd64_none_amd64}

SRC_DIR=$CACHE/src/$KERNEL_PKG          # the unpacked upstream tree (hooks applied)
DISTRO_CONFIG=$CACHE/src/$KERNEL_CONFIG_PKG/$DISTRO_CONFIG_NAME
BUILD_DIR=$CACHE/build                  # O= directories, one per flavour
OUT_DIR=${KR_OUT_DIR:-$CACHE/out}       # initramfs images, disks, serial logs (KR_OUT_DIR: another, for runs side by side)
TOOLS_DIR=$CACHE/tools                  # bindgen and other cargo-installed tools
# Host and guest Rust builds, one directory per clone: cargo's fingerprints of
# workspace members do not include the workspace's path, so a target directory
# shared by two clones would take one clone's artifacts as fresh for the other.
CARGO_TARGET=$CACHE/cargo-target/$(printf '%s' "$REPO" | md5sum | cut -c1-12)
export CARGO_TARGET_DIR=$CARGO_TARGET

LLVM_SUFFIX=-19
export LIBCLANG_PATH=/usr/lib/llvm${LLVM_SUFFIX}/lib
BINDGEN=$TOOLS_DIR/bin/bindgen
# The kernel needs rustc with matching library sources: Debian's rustc-web and
# rust-web-src, not the rustup toolchain that may come first in PATH.
KMAKE=(make -s LLVM="$LLVM_SUFFIX" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc
       BINDGEN="$BINDGEN")

# The arm64 flavours (arm64-stock, arm64-rust) are cross-built (LLVM, rustc's
# built-in aarch64-unknown-none-softfloat target) for QEMU's virt machine.
flavour_arch() { case $1 in arm64-*) echo arm64 ;; *) echo x86_64 ;; esac; }
# A flavour's boot image, relative to its build directory, and make's target for it.
kernel_image() { case $1 in arm64-*) echo arch/arm64/boot/Image ;; *) echo arch/x86/boot/bzImage ;; esac; }

FLAVOURS=(stock rust)
# The ways of dying the crash-types scenario provokes (KR_CASE), each captured.
CRASH_TYPES="panic panic-irqoff panic-hardirq bug exception warning stack-overflow softlockup hardlockup hung-task nmi sysrq"
# The arm64 flavours': all but nmi (QEMU's monitor command "nmi" injects
# nothing into the virt machine's CPUs).
ARM64_CRASH_TYPES=${CRASH_TYPES/ nmi / }
# UEFI firmware for QEMU (Debian's ovmf package), for the kexec-efi scenario.
OVMF=${OVMF:-/usr/share/ovmf/OVMF.fd}
# arm64's (qemu-efi-aarch64, installed by scripts/fetch-arm64.sh): code and variable store.
AAVMF_CODE=${AAVMF_CODE:-/usr/share/AAVMF/AAVMF_CODE.fd}
AAVMF_VARS=${AAVMF_VARS:-/usr/share/AAVMF/AAVMF_VARS.fd}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# install_packages PKG...: installs the Debian packages that are missing
# (the system's own apt sources).
install_packages() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get update -qq ||
        die "apt-get update failed: is the Debian mirror reachable?"
    # A postinst can fail on the first pass in a minimal container (debconf
    # without apt-utils); dpkg --configure -a and a second pass settle it.
    timeout 1800 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        { dpkg --configure -a >/dev/null 2>&1 || true
          timeout 1800 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
        die "apt-get install failed for: ${missing[*]}"
}

# Print a tool's version once per run, the first time it is asked for.
declare -A _versions_shown=()
show_version() {
    local name=$1; shift
    [ -n "${_versions_shown[$name]:-}" ] && return 0
    _versions_shown[$name]=1
    printf '  %-16s %s\n' "$name" "$("$@" 2>&1 | head -n 1)" >&2
}

# The number of parallel jobs for make.
jobs() { nproc; }
