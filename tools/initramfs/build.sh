#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest initramfs images: tools/initramfs/build.sh FLAVOUR
#
# inner.cpio.gz   busybox, kexec-tools with its libraries, /init and the guest test
#                 programs (tools/guest/): what the second and the capture kernel boot with.
# FLAVOUR.cpio.gz the same plus /boot/bzImage (that flavour's kernel) and
#                 /boot/initrd.gz (the inner image): what QEMU boots first.
#
# The inner image is rebuilt before the outer one, so the second kernel never runs
# stale scripts.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

flavour=${1:?usage: build.sh stock|rust}
bzimage=$BUILD_DIR/$flavour/arch/x86/boot/bzImage
[ -f "$bzimage" ] || die "no $flavour kernel at $bzimage: run scripts/build-kernel.sh $flavour"
mkdir -p "$OUT_DIR"

# Copy an executable and the shared libraries it needs into the root $1.
add_binary() {
    local root=$1 bin=$2 dest=$3 lib
    install -D -m 0755 "$bin" "$root$dest"
    for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
        [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done
}

make_cpio() {
    local root=$1 out=$2
    (cd "$root" && find . -print0 | LC_ALL=C sort -z |
        cpio --null --create --format=newc --quiet --reproducible) | gzip -6 -n >"$out.tmp"
    mv "$out.tmp" "$out"
}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,boot,etc}
install -m 0755 /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list | grep -vx busybox); do
    ln -sf busybox "$root/bin/$applet"
done
add_binary "$root" /sbin/kexec /sbin/kexec
install -m 0755 "$REPO/tools/initramfs/init" "$root/init"
# Guest test programs: static Rust binaries from tools/guest/, without their
# symbol tables (the capture kernel unpacks the initramfs into its small memory).
guest_target=x86_64-unknown-linux-gnu
(cd "$REPO" && RUSTFLAGS="-C target-feature=+crt-static -C strip=symbols" \
    cargo build --quiet --release --target "$guest_target" -p kexec-errno -p kexec-bench -p vmcore-pattern \
        -p kexec-fuzz) ||
    die "building the guest test programs failed"
for prog in kexec-errno kexec-bench vmcore-pattern kexec-fuzz; do
    install -m 0755 "$CARGO_TARGET/$guest_target/release/$prog" "$root/bin/$prog"
done
make_cpio "$root" "$OUT_DIR/inner.cpio.gz"

install -m 0644 "$bzimage" "$root/boot/bzImage"
install -m 0644 "$OUT_DIR/inner.cpio.gz" "$root/boot/initrd.gz"
make_cpio "$root" "$OUT_DIR/$flavour.cpio.gz"
log "initramfs: $OUT_DIR/$flavour.cpio.gz ($(du -h "$OUT_DIR/$flavour.cpio.gz" | cut -f1))"
