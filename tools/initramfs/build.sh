#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest initramfs images: tools/initramfs/build.sh FLAVOUR
#
# inner.cpio.gz   busybox, kexec-tools (Debian 12's, and 2.0.29 as kexec-new) with its libraries, /init and the guest test
#                 programs (tools/guest/): what the second and the capture kernel boot with.
# FLAVOUR.cpio.gz the same plus /boot/bzImage (that flavour's kernel) and
#                 /boot/initrd.gz (the inner image): what QEMU boots first.
# FLAVOUR-sig.cpio.gz  the same plus /boot/sig/: that kernel signed with the
#                 test keys of scripts/keys.sh and not, for the kexec-sig scenarios.
#
# The inner image is rebuilt before the outer one, so the second kernel never runs
# stale scripts.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

flavour=${1:?usage: build.sh stock|rust|...|arm64-stock|arm64-rust}
bzimage=$BUILD_DIR/$flavour/$(kernel_image "$flavour")
[ -f "$bzimage" ] || die "no $flavour kernel at $bzimage: run scripts/build-kernel.sh $flavour"
arch=$(flavour_arch "$flavour")
mkdir -p "$OUT_DIR"
# An arm64 flavour's images are arm64-*.cpio.gz, with arm64-inner.cpio.gz.
inner=$OUT_DIR/inner.cpio.gz
[ "$arch" = x86_64 ] || inner=$OUT_DIR/arm64-inner.cpio.gz

# Copy an executable and the shared libraries it needs into the root $1.
add_binary() {
    local root=$1 bin=$2 dest=$3 lib
    install -D -m 0755 "$bin" "$root$dest"
    for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
        [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done
}

# Every file dated the same: the inner image is then byte for byte the same for
# every flavour, so its size, and where kexec_file_load places it, does not
# depend on when each was built (the handover comparison once failed on a
# 679-byte difference that moved it by a page).
make_cpio() {
    local root=$1 out=$2
    find "$root" -exec touch -h -d @1 {} +
    (cd "$root" && find . -print0 | LC_ALL=C sort -z |
        cpio --null --create --format=newc --quiet --reproducible) | gzip -6 -n >"$out.tmp"
    mv "$out.tmp" "$out"
}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,boot,etc}
# The applets: the same busybox version on both arches (Debian 12's).
for applet in $(/bin/busybox --list | grep -vx busybox); do
    ln -sf busybox "$root/bin/$applet"
done
install -m 0755 "$REPO/tools/initramfs/init" "$root/init"
if [ "$arch" = arm64 ]; then
    # Static arm64 builds (scripts/fetch-arm64.sh): Debian 12's busybox, its
    # kexec-tools 2.0.25 and trixie's 2.0.29, the guest programs.
    a=$("$REPO/scripts/fetch-arm64.sh") || die "preparing the arm64 guest userspace failed"
    install -m 0755 "$a/busybox" "$root/bin/busybox"
    install -D -m 0755 "$a/kexec" "$root/sbin/kexec"
    install -D -m 0755 "$a/kexec-new" "$root/sbin/kexec-new"
    for prog in kexec-errno kexec-bench vmcore-pattern kexec-fuzz; do
        install -m 0755 "$a/bin/$prog" "$root/bin/$prog"
    done
else
    install -m 0755 /bin/busybox "$root/bin/busybox"
    add_binary "$root" /sbin/kexec /sbin/kexec
    # kexec-tools 2.0.29 beside Debian 12's, for `kexec -p --hotplug` (hotplug-load).
    kexec_new=$("$REPO/scripts/build-kexec-tools.sh") || die "building kexec-tools 2.0.29 failed"
    add_binary "$root" "$kexec_new" /sbin/kexec-new
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
fi
make_cpio "$root" "$inner"

# /boot/bzImage on x86, /boot/Image (arm64's raw image) on arm64.
install -m 0644 "$bzimage" "$root/boot/${bzimage##*/}"
install -m 0644 "$inner" "$root/boot/initrd.gz"
make_cpio "$root" "$OUT_DIR/$flavour.cpio.gz"
log "initramfs: $OUT_DIR/$flavour.cpio.gz ($(du -h "$OUT_DIR/$flavour.cpio.gz" | cut -f1))"

# FLAVOUR-sig.cpio.gz, for the kexec-sig scenarios: the same plus /boot/sig/,
# that flavour's kernel signed (sbsign, Authenticode) with the trusted test key
# of scripts/keys.sh, whose certificate the kernel was built with; with the
# untrusted one; unsigned; and signed with the trusted key, then one byte of
# its payload flipped.
[ "$arch" = x86_64 ] || exit 0  # (no signed-image scenarios on arm64)
keys=$("$REPO/scripts/keys.sh")
kconfig=$BUILD_DIR/$flavour/.config
if ! grep -qxF "CONFIG_SYSTEM_TRUSTED_KEYS=\"$keys/trusted.crt\"" "$kconfig"; then
    rm -f "$OUT_DIR/$flavour-sig.cpio.gz"
    log "the $flavour kernel was built without the test certificate $keys/trusted.crt: no $flavour-sig.cpio.gz (run scripts/build-kernel.sh $flavour)"
    exit 0
fi
[ "$keys/trusted.crt" -ot "$BUILD_DIR/$flavour/vmlinux" ] ||
    die "$keys/trusted.crt is newer than the $flavour kernel: run scripts/build-kernel.sh $flavour"
show_version sbsign sbsign --version
sig=$root/boot/sig
mkdir -p "$sig"
for k in trusted untrusted; do
    out=$(sbsign --key "$keys/$k.key" --cert "$keys/$k.crt" --output "$sig/$k.bzImage" "$bzimage" 2>&1) ||
        die "sbsign with the $k test key failed: $out"
done
install -m 0644 "$bzimage" "$sig/unsigned.bzImage"
# The byte in the middle of the file is in the compressed kernel (the PE
# section .text), which the signature's digest covers: sbverify checks below
# that the flip breaks the signature.
cp "$sig/trusted.bzImage" "$sig/modified.bzImage"
off=$(( $(stat -c %s "$bzimage") / 2 ))
byte=$(od -An -tu1 -j "$off" -N1 "$sig/modified.bzImage" | tr -d ' ')
printf "\\$(printf %03o $((byte ^ 0xff)))" | dd of="$sig/modified.bzImage" bs=1 seek="$off" conv=notrunc status=none
[ "$(cmp -l "$sig/trusted.bzImage" "$sig/modified.bzImage" | wc -l)" = 1 ] ||
    die "flipping byte $off of the signed image did not change exactly one byte"
sbverify --cert "$keys/trusted.crt" "$sig/trusted.bzImage" >/dev/null 2>&1 ||
    die "sbverify refuses the image signed with the trusted test key"
! sbverify --cert "$keys/trusted.crt" "$sig/modified.bzImage" >/dev/null 2>&1 ||
    die "sbverify accepts the signed image with byte $off flipped"
make_cpio "$root" "$OUT_DIR/$flavour-sig.cpio.gz"
log "initramfs: $OUT_DIR/$flavour-sig.cpio.gz ($(du -h "$OUT_DIR/$flavour-sig.cpio.gz" | cut -f1)), the kernel signed and not (byte $off flipped in modified.bzImage)"
