#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the kernel source package with a private apt configuration (never the
# system's sources), unpack it into the cache, link our overlay into it and apply
# the hook patches. Idempotent: an unpacked tree is kept; patches that changed in
# the repo are swapped (the old set reversed, the new one applied), so make only
# rebuilds what they touch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT_DIR=$CACHE/apt
APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache=$APT_DIR/cache"
    -o "Dir::Cache::Archives=$APT_DIR/archives"
    -o "APT::Get::List-Cleanup=0"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)

# fetch_deb PKG: the path of PKG's .deb in the private cache, downloaded once.
fetch_deb() {
    local pkg=$1 deb
    deb=$(ls "$APT_DIR"/debs/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -n "$deb" ]; then
        echo "$deb"
        return
    fi
    mkdir -p "$APT_DIR"/{lists/partial,cache,archives/partial,debs}
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $KERNEL_MIRROR $KERNEL_SUITE main" \
        >"$APT_DIR/sources.list"
    if [ ! -f "$APT_DIR/.updated" ] || ! (cd "$APT_DIR/debs" && apt-get "${APT_OPTS[@]}" -qq download "$pkg" >&2 2>/dev/null); then
        log "apt-get update ($KERNEL_SUITE, private configuration)"
        timeout 900 apt-get "${APT_OPTS[@]}" -qq update >&2 ||
            die "apt-get update of $KERNEL_SUITE failed (private config in $APT_DIR)"
        touch "$APT_DIR/.updated"
        log "downloading $pkg"
        (cd "$APT_DIR/debs" && timeout 1800 apt-get "${APT_OPTS[@]}" -qq download "$pkg" >&2) ||
            die "package $pkg not found in $KERNEL_SUITE; set KERNEL_PKG/KERNEL_CONFIG_PKG/KERNEL_SUITE"
    fi
    ls "$APT_DIR"/debs/"${pkg}"_*.deb | head -n 1
}

# Debian's own configuration of the same kernel (package $KERNEL_CONFIG_PKG),
# the base of the distro flavours: $DISTRO_CONFIG, unpacked from the .deb.
fetch_distro_config() {
    local deb tmp
    [ -f "$DISTRO_CONFIG" ] && return 0
    deb=$(fetch_deb "$KERNEL_CONFIG_PKG")
    tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
    dpkg-deb -x "$deb" "$tmp"
    [ -f "$tmp/usr/src/$KERNEL_CONFIG_PKG/$DISTRO_CONFIG_NAME.xz" ] ||
        die "no $DISTRO_CONFIG_NAME.xz in $(basename "$deb")"
    mkdir -p "$(dirname "$DISTRO_CONFIG")"
    xz -dc "$tmp/usr/src/$KERNEL_CONFIG_PKG/$DISTRO_CONFIG_NAME.xz" >"$DISTRO_CONFIG.tmp"
    mv "$DISTRO_CONFIG.tmp" "$DISTRO_CONFIG"
    rm -rf "$tmp"
    log "Debian's configuration: $DISTRO_CONFIG (from $(basename "$deb"))"
}

unpack() {
    local deb=$1 tmp tarball
    tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$tmp"
    tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.* 2>/dev/null | head -n 1)
    [ -n "$tarball" ] || die "no kernel tarball inside $deb"
    mkdir -p "$tmp/tree"
    tar -xf "$tarball" -C "$tmp/tree" --strip-components=1
    [ -f "$tmp/tree/Makefile" ] || die "unpacked tarball has no top-level Makefile"
    mkdir -p "$(dirname "$SRC_DIR")"
    rm -rf "$SRC_DIR"
    mv "$tmp/tree" "$SRC_DIR"
    rm -rf "$tmp"
}

# The hook patches are scripts/patches/*.patch, applied in order. Copies of the
# ones applied are kept in the tree ($SRC_DIR/.kexec_rust_hooks.d) so that when
# ours change, only those from the first changed one on are taken back (in
# reverse order: later patches may touch the hunks of earlier ones) and applied
# again; unchanged files keep their times and the build stays incremental. A
# tree that cannot be brought back cleanly is unpacked anew.
apply_hooks() {
    local dir=$SRC_DIR/.kexec_rust_hooks.d legacy=$SRC_DIR/.kexec_rust_hooks.patch
    local want=() have=() p q keep=0
    for p in "$REPO"/scripts/patches/*.patch; do want+=("$p"); done
    if [ -f "$legacy" ]; then
        # The older layout kept one concatenated copy, which cannot be reversed
        # when two patches touch one file: split it back if it is exactly the
        # start of the current set, else start from a fresh tree.
        local n=${#want[@]}
        while [ $n -gt 0 ] && ! cmp -s "$legacy" <(cat "${want[@]:0:n}"); do n=$((n - 1)); done
        if [ $n -gt 0 ]; then
            mkdir -p "$dir" && cp "${want[@]:0:n}" "$dir"/ && rm -f "$legacy"
        else
            log "hook patches changed since an old-layout apply: unpacking the source anew"
            unpack "$deb"
            ln -sfn "$REPO" "$SRC_DIR/kexec_rust"
        fi
    fi
    mkdir -p "$dir"
    for p in "$dir"/*.patch; do [ -f "$p" ] && have+=("$p"); done
    while [ $keep -lt ${#want[@]} ] && [ $keep -lt ${#have[@]} ] &&
        [ "$(basename "${want[keep]}")" = "$(basename "${have[keep]}")" ] &&
        cmp -s "${want[keep]}" "${have[keep]}"; do
        keep=$((keep + 1))
    done
    for ((q = ${#have[@]} - 1; q >= keep; q--)); do
        log "hook patches changed: taking back $(basename "${have[q]}")"
        if ! patch -d "$SRC_DIR" -p1 -R -s <"${have[q]}" >/dev/null; then
            log "$(basename "${have[q]}") does not reverse cleanly: unpacking the source anew"
            unpack "$deb"
            ln -sfn "$REPO" "$SRC_DIR/kexec_rust"
            mkdir -p "$dir"
            keep=0
            break
        fi
        rm -f "${have[q]}"
    done
    for ((q = keep; q < ${#want[@]}; q++)); do
        p=${want[q]}
        if ! patch -d "$SRC_DIR" -p1 -N -s --dry-run <"$p" >/dev/null; then
            die "hook patch $(basename "$p") does not apply to $KERNEL_PKG; rm -rf $SRC_DIR and rerun"
        fi
        patch -d "$SRC_DIR" -p1 -N -s <"$p"
        cp "$p" "$dir"/
        log "applied $(basename "$p")"
    done
}

deb=$(fetch_deb "$KERNEL_PKG")
[ -f "$SRC_DIR/Makefile" ] || unpack "$deb"
ln -sfn "$REPO" "$SRC_DIR/kexec_rust"
apply_hooks
fetch_distro_config
log "kernel source: $SRC_DIR ($(make -s -C "$SRC_DIR" kernelversion 2>/dev/null))"
