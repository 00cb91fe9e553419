#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A newer kexec-tools than Debian 12's (2.0.25) for the guest: its source package
# from $KEXEC_TOOLS_SUITE (trixie: 2.0.29) through a private apt configuration
# (deb-src only, never the system's sources), unpacked with Debian's patches
# (dpkg-source) and built once into the cache. The
# guests keep Debian 12's /sbin/kexec for every scenario and get this one as
# /sbin/kexec-new: the hotplug-load scenario needs `kexec -p --hotplug`
# (kexec_load with KEXEC_UPDATE_ELFCOREHDR and an elfcorehdr sized by
# /sys/kernel/crash_elfcorehdr_size), which 2.0.25 does not have.
# KEXEC_TOOLS_ARCH=arm64: the same source cross-built static for the arm64
# guests (aarch64-linux-gnu-gcc, no xen, zlib or lzma), in build-arm64/, as
# kexec-arm64 (scripts/fetch-arm64.sh builds bookworm's and trixie's).
# Prints the path of the binary. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KEXEC_TOOLS_SUITE=${KEXEC_TOOLS_SUITE:-trixie}
KEXEC_TOOLS_ARCH=${KEXEC_TOOLS_ARCH:-x86_64}
dir=$CACHE/kexec-tools/$KEXEC_TOOLS_SUITE
apt_dir=$dir/apt
case $KEXEC_TOOLS_ARCH in
    x86_64) out=$dir/kexec build=$dir/build build_log=$dir/build.log run=()
            configure=(--without-xen --without-booke) ;;
    # Static: the arm64 guests have no aarch64 libc. The binary runs on the
    # host only under qemu-user.
    arm64)  out=$dir/kexec-arm64 build=$dir/build-arm64 build_log=$dir/build-arm64.log
            run=(qemu-aarch64-static)
            configure=(--host=aarch64-linux-gnu --without-xen --without-zlib --without-lzma
                       CC=aarch64-linux-gnu-gcc LDFLAGS=-static) ;;
    *) die "KEXEC_TOOLS_ARCH is x86_64 or arm64, not $KEXEC_TOOLS_ARCH" ;;
esac
mkdir -p "$dir"
# One build at a time (runs side by side share the cache).
exec 9>"$dir/.lock"
flock 9
if [ -x "$out" ] && "${run[@]}" "$out" --version >/dev/null 2>&1; then
    echo "$out"
    exit 0
fi

mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial} "$dir/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $KERNEL_MIRROR $KEXEC_TOOLS_SUITE main" \
    >"$apt_dir/sources.list"
opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)
log "kexec-tools source from $KEXEC_TOOLS_SUITE (private apt configuration)" >&2
timeout 900 apt-get "${opts[@]}" -qq update >&2 ||
    die "apt-get update of $KEXEC_TOOLS_SUITE's sources failed (private config in $apt_dir)"
(cd "$dir/src" && rm -f ./*.orig.tar.* ./*.dsc ./*.debian.tar.* &&
    timeout 900 apt-get "${opts[@]}" -qq --download-only source kexec-tools >&2) ||
    die "apt-get source kexec-tools ($KEXEC_TOOLS_SUITE) failed"
dsc=$(ls "$dir"/src/kexec-tools_*.dsc | head -n 1)
rm -rf "$build"
dpkg-source --no-check -x "$dsc" "$build" >/dev/null ||
    die "dpkg-source -x $(basename "$dsc") failed"
[ -x "$build/configure" ] || die "no configure script in $(basename "$dsc")'s source"
log "building $(basename "$dsc" .dsc) (Debian's patches applied)${run:+ for $KEXEC_TOOLS_ARCH, static}" >&2
(cd "$build" && ./configure --quiet "${configure[@]}" >/dev/null &&
    make -s -j"$(nproc)" >/dev/null 2>"$build_log") ||
    { tail -n 30 "$build_log" >&2; die "building kexec-tools failed (log: $build_log)"; }
install -m 0755 "$build/build/sbin/kexec" "$out.tmp"
mv "$out.tmp" "$out"
log "kexec-tools: $("${run[@]}" "$out" --version 2>&1)" >&2
echo "$out"
