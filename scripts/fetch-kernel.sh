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

fetch_deb() {
    local deb
    deb=$(ls "$APT_DIR"/debs/"${KERNEL_PKG}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -n "$deb" ]; then
        echo "$deb"
        return
    fi
    mkdir -p "$APT_DIR"/{lists/partial,cache,archives/partial,debs}
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $KERNEL_MIRROR $KERNEL_SUITE main" \
        >"$APT_DIR/sources.list"
    log "apt-get update ($KERNEL_SUITE, private configuration)"
    timeout 900 apt-get "${APT_OPTS[@]}" -qq update >&2 ||
        die "apt-get update of $KERNEL_SUITE failed (private config in $APT_DIR)"
    log "downloading $KERNEL_PKG"
    (cd "$APT_DIR/debs" && timeout 1800 apt-get "${APT_OPTS[@]}" -qq download "$KERNEL_PKG" >&2) ||
        die "kernel package $KERNEL_PKG not found in $KERNEL_SUITE; set KERNEL_PKG/KERNEL_SUITE"
    ls "$APT_DIR"/debs/"${KERNEL_PKG}"_*.deb | head -n 1
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

# The patch set is the concatenation of scripts/patches/*.patch in order; the copy
# applied last is kept in the tree so that it can be reversed when ours changes.
apply_hooks() {
    local applied=$SRC_DIR/.kexec_rust_hooks.patch want
    want=$(mktemp)
    cat "$REPO"/scripts/patches/*.patch >"$want"
    if [ -f "$applied" ] && cmp -s "$applied" "$want"; then
        rm -f "$want"
        return
    fi
    if [ -f "$applied" ]; then
        log "hook patches changed: reversing the old set"
        patch -d "$SRC_DIR" -p1 -R -s --dry-run <"$applied" >/dev/null ||
            die "the previously applied hook patches no longer reverse cleanly; rm -rf $SRC_DIR and rerun"
        patch -d "$SRC_DIR" -p1 -R -s <"$applied"
        rm -f "$applied"
    fi
    local p q done_list=()
    for p in "$REPO"/scripts/patches/*.patch; do
        if ! patch -d "$SRC_DIR" -p1 -N -s --dry-run <"$p" >/dev/null; then
            # Leave the tree as it was: take back the ones applied above.
            for ((q = ${#done_list[@]} - 1; q >= 0; q--)); do
                patch -d "$SRC_DIR" -p1 -R -s <"${done_list[q]}"
            done
            die "hook patch $(basename "$p") does not apply to $KERNEL_PKG"
        fi
        patch -d "$SRC_DIR" -p1 -N -s <"$p"
        done_list+=("$p")
        log "applied $(basename "$p")"
    done
    mv "$want" "$applied"
}

deb=$(fetch_deb)
[ -f "$SRC_DIR/Makefile" ] || unpack "$deb"
ln -sfn "$REPO" "$SRC_DIR/kexec_rust"
apply_hooks
log "kernel source: $SRC_DIR ($(make -s -C "$SRC_DIR" kernelversion 2>/dev/null))"
