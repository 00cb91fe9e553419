#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The userspace of the arm64 QEMU guests, built once into $CACHE/arm64/:
#
#   busybox           Debian 12's busybox-static:arm64 (static)
#   kexec             kexec-tools 2.0.25 (bookworm), static aarch64: the guests' /sbin/kexec
#   kexec-new         kexec-tools 2.0.29 (trixie), static aarch64: /sbin/kexec-new
#                     (both cross-built from Debian's source by scripts/build-kexec-tools.sh)
#   bin/              the guest programs of tools/guest/, static aarch64
#   makedumpfile      sh wrapper: Debian 12's makedumpfile:arm64 (dynamic) under
#                     qemu-aarch64-static -L root/, for the arm64 vmcores (the
#                     host's amd64 build reads only x86_64 dumps)
#   sysroot/          rustc's sysroot for aarch64-unknown-linux-gnu: lib/rustlib/
#                     aarch64-unknown-linux-gnu links to the rlibs of Debian 12's
#                     libstd-rust-web-dev:arm64 at the host's rustc-web version
#   root/             the arm64 .debs unpacked (dpkg-deb -x): busybox-static, the
#                     std .debs, makedumpfile and the shared libraries it loads
#   apt/              the private apt configuration (arm64 only) and the .debs
#
# The .debs come through a private apt configuration: the system's sources and
# dpkg architectures are never touched. Installs the host packages it needs if
# missing (not part of setup-host.sh: only the arm64 work needs them).
# Prints the directory. Idempotent: a second run rebuilds only the guest
# programs whose sources changed (cargo).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ARM64_PACKAGES=(qemu-system-arm qemu-efi-aarch64 qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
GUEST_PROGRAMS=(kexec-errno kexec-bench vmcore-pattern kexec-fuzz)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
RUST_TARGET=aarch64-unknown-linux-gnu
dir=$CACHE/arm64
apt_dir=$dir/apt
root=$dir/root
sysroot=$dir/sysroot
# Where makedumpfile:arm64 (bookworm) puts the program.
MAKEDUMPFILE_BIN=/usr/bin/makedumpfile

# An AArch64 ELF executable with no interpreter and no shared libraries (static
# or static-pie). readelf: binutils is in setup-host.sh, `file` is not.
static_arm64() {
    local h
    h=$(readelf -hld "$1" 2>/dev/null) || return 1
    grep -q 'Machine:.*AArch64' <<<"$h" && ! grep -qE 'INTERP|\(NEEDED\)' <<<"$h"
}

# Host packages (scripts/lib.sh).
install_packages "${ARM64_PACKAGES[@]}"

mkdir -p "$dir"
# One run at a time (runs side by side share the cache).
exec 9>"$dir/.lock"
flock 9

# The arm64 std must be the very build of the host's rustc: same version, and
# rustc checks the rlibs' metadata against itself.
rust_ver=$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null) ||
    die "rustc-web is not installed: run scripts/setup-host.sh"
rust_mm=$(printf '%s' "$rust_ver" | sed -nE 's/^([0-9]+\.[0-9]+)\..*/\1/p')
[ -n "$rust_mm" ] || die "cannot read rustc's version from rustc-web $rust_ver"
# The private apt configuration: bookworm's arm64 lists only, in $apt_dir.
opts=(
    -o "APT::Architecture=arm64" -o "APT::Architectures=arm64"
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)
apt_update() {
    mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial,debs}
    cat >"$apt_dir/sources.list" <<EOF
deb [signed-by=$KEYRING] $KERNEL_MIRROR bookworm main
deb [signed-by=$KEYRING] $KERNEL_MIRROR bookworm-updates main
deb [signed-by=$KEYRING] $SECURITY_MIRROR bookworm-security main
EOF
    # An empty dpkg status: the host's (amd64) installed packages are not ours.
    : >"$apt_dir/status"
    timeout 900 apt-get "${opts[@]}" -qq update >&2 ||
        die "apt-get update of bookworm's arm64 lists failed (private config in $apt_dir)"
}

debs=(busybox-static "libstd-rust-web-dev=$rust_ver" "libstd-rust-web-$rust_mm=$rust_ver")
stamp="${debs[*]}"
if [ "$(cat "$root/.debs" 2>/dev/null)" != "$stamp" ] || ! [ -x "$dir/busybox" ]; then
    log "arm64 .debs of Debian 12: ${debs[*]} (private apt configuration in $apt_dir)"
    apt_update
    (cd "$apt_dir/debs" && rm -f ./*.deb &&
        timeout 900 apt-get "${opts[@]}" -qq download "${debs[@]}" >&2) ||
        die "apt-get download ${debs[*]} (arm64) failed: is rustc-web $rust_ver in bookworm-security?"
    rm -rf "$root" "$sysroot" "$dir/busybox"
    mkdir -p "$root"
    for deb in "$apt_dir"/debs/*.deb; do
        dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $(basename "$deb") failed"
    done
    # busybox-static:arm64 puts it in /bin.
    static_arm64 "$root/bin/busybox" || die "$root/bin/busybox is not a static aarch64 binary"
    install -m 0755 "$root/bin/busybox" "$dir/busybox"
    printf '%s\n' "$stamp" >"$root/.debs"
fi

# makedumpfile:arm64 and the shared libraries it loads, for the arm64 vmcores.
# The candidates are its Depends closure through library packages (Section:
# libs; not perl, which only makedumpfile-R.pl wants); of those, only the
# packages that ship a soname of the binary's NEEDED closure (readelf -d, the
# interpreter included) are kept and unpacked. Stamp: $root/.makedumpfile (a
# rebuild of root/ above drops it); the .debs stay in $apt_dir/makedumpfile.
mdf_debs=$apt_dir/makedumpfile
if ! [ -s "$root/.makedumpfile" ] || ! [ -x "$root$MAKEDUMPFILE_BIN" ]; then
    log "arm64 makedumpfile of Debian 12 and its shared libraries (private apt configuration in $apt_dir)"
    compgen -G "$apt_dir/lists/*_bookworm_main_binary-arm64_Packages*" >/dev/null || apt_update
    # Two apt-cache runs (each reads the lists afresh, ~1 s): the whole
    # Depends closure, then the sections of its packages.
    closure=$(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances makedumpfile) ||
        die "apt-cache depends makedumpfile (arm64) failed"
    libs=$(apt-cache "${opts[@]}" show --no-all-versions $(grep -E '^[^ <]' <<<"$closure") |
        awk '/^Package:/ { p = $2 } /^Section: libs$/ { print p }' | sort -u | tr '\n' ' ') ||
        die "apt-cache show of makedumpfile's dependencies (arm64) failed"
    mapfile -t cands < <(awk -v libs="$libs" '
        BEGIN { n = split(libs, a, " "); for (i = 1; i <= n; i++) lib[a[i]] = 1 }
        /^[^ ]/ { cur = $1; next }
        /^ +\|?(Pre)?Depends: [^<]/ { dep[cur] = dep[cur] " " $2 }
        END {
            q[1] = "makedumpfile"; seen["makedumpfile"] = 1; h = 1; t = 1
            while (h <= t) {
                n = split(dep[q[h++]], d, " ")
                for (i = 1; i <= n; i++)
                    if (lib[d[i]] && !seen[d[i]]) { seen[d[i]] = 1; q[++t] = d[i]; print d[i] }
            }
        }' <<<"$closure")
    [ ${#cands[@]} -gt 0 ] || die "makedumpfile:arm64 has no library in its Depends closure"
    download() {
        (cd "$mdf_debs" && rm -f ./*.deb &&
            timeout 900 apt-get "${opts[@]}" -qq download makedumpfile "${cands[@]}" >&2)
    }
    rm -rf "$mdf_debs"
    mkdir -p "$mdf_debs/stage"
    # Lists older than the archive (a superseded security update): refresh once.
    download || { apt_update && download; } ||
        die "apt-get download makedumpfile ${cands[*]} (arm64) failed"
    # Each .deb apart, and which package ships which shared object.
    declare -A owner=() deb_of=()
    for deb in "$mdf_debs"/*.deb; do
        p=$(dpkg-deb -f "$deb" Package)
        deb_of[$p]=$deb
        dpkg-deb -x "$deb" "$mdf_debs/stage/$p" || die "dpkg-deb -x $(basename "$deb") failed"
        while IFS= read -r f; do
            [ -n "${owner[${f##*/}]:-}" ] || owner[${f##*/}]=$p
        done < <(find "$mdf_debs/stage/$p" \( -type f -o -type l \) -name '*.so*')
    done
    bin=$mdf_debs/stage/makedumpfile$MAKEDUMPFILE_BIN
    grep -q 'Machine:.*AArch64' <<<"$(readelf -h "$bin" 2>/dev/null)" ||
        die "makedumpfile:arm64 has no AArch64 $MAKEDUMPFILE_BIN"
    interp=$(readelf -l "$bin" | sed -nE 's/.*Requesting program interpreter: (.*)\]$/\1/p')
    [ -n "$interp" ] || die "$MAKEDUMPFILE_BIN has no program interpreter"
    # The NEEDED closure, breadth first.
    declare -A keep=([makedumpfile]=1) done_=()
    queue=("$bin") sonames=("${interp##*/}")
    while [ ${#queue[@]} -gt 0 ] || [ ${#sonames[@]} -gt 0 ]; do
        for elf in "${queue[@]}"; do
            mapfile -t -O ${#sonames[@]} sonames < <(readelf -d "$elf" |
                sed -nE 's/.*\(NEEDED\).*\[(.*)\]$/\1/p')
        done
        queue=()
        for so in "${sonames[@]}"; do
            [ -z "${done_[$so]:-}" ] || continue
            done_[$so]=1
            p=${owner[$so]:-}
            [ -n "$p" ] || die "no package of makedumpfile's Depends closure (${cands[*]}) ships $so"
            keep[$p]=1
            queue+=("$(readlink -f "$(find "$mdf_debs/stage/$p" -name "$so" -print -quit)")")
        done
        sonames=()
    done
    for p in "${!deb_of[@]}"; do
        [ -n "${keep[$p]:-}" ] || rm -f "${deb_of[$p]}"
    done
    rm -rf "$mdf_debs/stage"
    for deb in "$mdf_debs"/*.deb; do
        dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $(basename "$deb") failed"
    done
    [ -e "$root$interp" ] || die "$root$interp is missing"
    (cd "$mdf_debs" && ls ./*.deb | sed 's|^\./||') >"$root/.makedumpfile"
    log "makedumpfile:arm64 with: $(printf '%s\n' "${!keep[@]}" | grep -vx makedumpfile | sort | tr '\n' ' ')"
fi
case $root in *\'*) die "$root: a path with a single quote" ;; esac
wrapper="#!/bin/sh
# Debian 12's makedumpfile:arm64 under qemu-user (scripts/fetch-arm64.sh).
exec qemu-aarch64-static -L '$root' '$root$MAKEDUMPFILE_BIN' \"\$@\""
if [ "$(cat "$dir/makedumpfile" 2>/dev/null)" != "$wrapper" ] || ! [ -x "$dir/makedumpfile" ]; then
    printf '%s\n' "$wrapper" >"$dir/makedumpfile.tmp"
    chmod 0755 "$dir/makedumpfile.tmp"
    v=$("$dir/makedumpfile.tmp" -v 2>&1) || true
    [[ $v == "makedumpfile: version"* ]] || die "$dir/makedumpfile.tmp -v: $v"
    mv -f "$dir/makedumpfile.tmp" "$dir/makedumpfile"
fi

# libstd-rust-web-dev:arm64 puts the rlibs where the host's are, under its own
# triple: a sysroot needs only lib/rustlib/<target>/lib.
rlibs=$root/usr/lib/rustlib/$RUST_TARGET/lib
[ -n "$(ls "$rlibs"/libstd-*.rlib 2>/dev/null)" ] || die "no libstd rlib in $rlibs"
mkdir -p "$sysroot/lib/rustlib"
ln -sfn "../../../root/usr/lib/rustlib/$RUST_TARGET" "$sysroot/lib/rustlib/$RUST_TARGET"
# The crates' file name hashes differ from the host's x86 ones (cargo hashes
# the target into them); what rustc checks is its own version string, which
# each .rmeta carries.
rustc_id=$(/usr/bin/rustc --version)
grep -qaF "$rustc_id" "$rlibs"/libcore-*.rmeta ||
    die "the arm64 std in $rlibs was not built by $rustc_id (rustc-web $rust_ver)"

# kexec-tools: Debian 12's version (/sbin/kexec) and trixie's (/sbin/kexec-new).
for pair in bookworm:kexec trixie:kexec-new; do
    suite=${pair%%:*} name=${pair#*:}
    bin=$(KEXEC_TOOLS_ARCH=arm64 KEXEC_TOOLS_SUITE=$suite "$REPO/scripts/build-kexec-tools.sh") ||
        die "cross-building kexec-tools ($suite) for arm64 failed"
    static_arm64 "$bin" || die "$bin is not a static aarch64 binary"
    cmp -s "$bin" "$dir/$name" || install -m 0755 "$bin" "$dir/$name"
done

# The guest programs, as tools/initramfs/build.sh builds them for x86 but
# against the arm64 std with Debian's rustc (rustup's has no arm64 std here),
# static against libc6-dev-arm64-cross's glibc.
log "guest programs for $RUST_TARGET (${GUEST_PROGRAMS[*]})"
pkgs=()
for prog in "${GUEST_PROGRAMS[@]}"; do pkgs+=(-p "$prog"); done
target_var=$(printf '%s' "$RUST_TARGET" | tr a-z- A-Z_)
(cd "$REPO" && env RUSTC=/usr/bin/rustc \
    RUSTFLAGS="--sysroot=$sysroot -C target-feature=+crt-static -C strip=symbols" \
    "CARGO_TARGET_${target_var}_LINKER=aarch64-linux-gnu-gcc" \
    cargo build --quiet --release --target "$RUST_TARGET" "${pkgs[@]}" >&2) ||
    die "building the guest programs for $RUST_TARGET failed"
mkdir -p "$dir/bin"
for prog in "${GUEST_PROGRAMS[@]}"; do
    bin=$CARGO_TARGET/$RUST_TARGET/release/$prog
    static_arm64 "$bin" || die "$bin is not a static aarch64 binary"
    cmp -s "$bin" "$dir/bin/$prog" || install -m 0755 "$bin" "$dir/bin/$prog"
done
log "arm64 guest userspace in $dir: busybox, kexec ($(qemu-aarch64-static "$dir/kexec" --version 2>&1)), kexec-new ($(qemu-aarch64-static "$dir/kexec-new" --version 2>&1)), bin/: ${GUEST_PROGRAMS[*]}"
echo "$dir"
