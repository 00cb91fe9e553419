#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build one kernel flavour out of tree: scripts/build-kernel.sh stock|rust|debug
#
#   stock  CONFIG_KEXEC_RUST=n: the upstream C kexec/kdump, our reference
#   rust   CONFIG_KEXEC_RUST=y: our overlay
#   debug  rust plus KASAN, KFENCE, lockdep, DEBUG_PAGEALLOC and the other checks
#          of scripts/config/debug.config
#   handover-stock, handover-rust
#          stock and rust plus IMA with IMA_KEXEC and kexec handover
#          (scripts/config/handover.config)
#   distro-stock, distro-rust
#          Debian's own configuration of the kernel instead of tinyconfig and
#          kexec.config, modules and debug info off (scripts/config/distro.config)
#   arm64-stock, arm64-rust
#          cross-built for arm64 (QEMU virt) from scripts/config/arm64.config
#
# KR_EXTRA_CONFIG=FILE adds (and overrides with) FILE's lines after the
# flavour's, and KR_BUILD_NAME=NAME builds in $BUILD_DIR/NAME instead of the
# flavour's directory (tools/compile-matrix.sh).
#
# All come from the same tree; each pair from the same fragment (scripts/config/
# kexec.config, plus the extra one), and its two kernels differ only in that switch. The config is regenerated every time; Kbuild then
# rebuilds only what a changed option or file touches.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: build-kernel.sh stock|rust|debug|handover-stock|handover-rust|distro-stock|distro-rust}
extra=/dev/null
base=$REPO/scripts/config/kexec.config
off="# CONFIG_KEXEC_RUST is not set"
case $flavour in
    stock) switch=$off ;;
    rust) switch="CONFIG_KEXEC_RUST=y" ;;
    debug) switch="CONFIG_KEXEC_RUST=y" extra=$REPO/scripts/config/debug.config ;;
    handover-stock) switch=$off extra=$REPO/scripts/config/handover.config ;;
    handover-rust) switch="CONFIG_KEXEC_RUST=y" extra=$REPO/scripts/config/handover.config ;;
    distro-stock) switch=$off extra=$REPO/scripts/config/distro.config base=/dev/null ;;
    distro-rust) switch="CONFIG_KEXEC_RUST=y" extra=$REPO/scripts/config/distro.config base=/dev/null ;;
    arm64-stock) switch=$off base=$REPO/scripts/config/arm64.config ;;
    arm64-rust) switch="CONFIG_KEXEC_RUST=y" base=$REPO/scripts/config/arm64.config ;;
    *) die "unknown flavour '$flavour' (stock, rust, debug, handover-stock, handover-rust, distro-stock, distro-rust, arm64-stock or arm64-rust)" ;;
esac
[ -f "$SRC_DIR/Makefile" ] || die "no kernel tree at $SRC_DIR: run scripts/fetch-kernel.sh"
case $flavour in distro-*)
    [ -f "$DISTRO_CONFIG" ] || die "no Debian configuration at $DISTRO_CONFIG: run scripts/fetch-kernel.sh" ;;
esac

O=$BUILD_DIR/${KR_BUILD_NAME:-$flavour}
arch=$(flavour_arch "$flavour")
image=$(kernel_image "$flavour")
mkdir -p "$O"
# One kernel build at a time on this machine (2 cores): a second caller waits.
exec 9>"$BUILD_DIR/.build.lock"
flock 9
# The test certificate that signed images are checked against (made once).
keys=$("$REPO/scripts/keys.sh")
frag=$O/kexec_rust.fragment
# The extra fragment's options replace kexec.config's lines for them.
over=${KR_EXTRA_CONFIG:-/dev/null}
syms() { sed -nE 's/^(# )?(CONFIG_[A-Za-z0-9_]+)[= ].*/\2/p' "$@" | paste -sd'|'; }
# drop FILE SYMS: FILE without the lines of the options in SYMS.
drop() { if [ -n "$2" ]; then grep -vE "^(# )?($2)[= ]" "$1" || true; else cat "$1"; fi; }
{ drop "$base" "$(syms "$extra" "$over")"
  echo "$switch"
  drop "$extra" "$(syms "$over")"
  cat "$over"
  # (The arm64 flavours have no signed-image scenarios, hence no keyring.)
  [ "$arch" = arm64 ] || echo "CONFIG_SYSTEM_TRUSTED_KEYS=\"$keys/trusted.crt\""; } >"$frag"

kmake() { "${KMAKE[@]}" ARCH="$arch" -C "$SRC_DIR" O="$O" "$@"; }

case $flavour in
    distro-*)
        # Debian's configuration with its modules switched off.
        cp "$DISTRO_CONFIG" "$O/.config"
        kmake mod2noconfig >/dev/null ;;
    *) kmake tinyconfig >/dev/null ;;
esac
"$SRC_DIR/scripts/kconfig/merge_config.sh" -m -O "$O" "$O/.config" "$frag" >/dev/null
kmake olddefconfig >/dev/null

# Every option the fragment asks for must have stuck.
bad=0
while IFS= read -r line; do
    case $line in
        CONFIG_*=n | "# CONFIG_"*" is not set")
            sym=${line%%=*}; sym=${sym#\# }; sym=${sym%% *}
            if grep -q "^$sym=" "$O/.config"; then
                echo "  $sym: asked n, got $(grep "^$sym=" "$O/.config")" >&2; bad=1
            fi ;;
        CONFIG_*=*)
            if ! grep -qxF "$line" "$O/.config"; then
                sym=${line%%=*}
                echo "  $sym: asked ${line#*=}, got $(grep -E "^$sym=|^# $sym is not set" "$O/.config" || echo absent)" >&2
                bad=1
            fi ;;
    esac
done <"$frag"
[ $bad -eq 0 ] || die "the $flavour config lost options after olddefconfig (unmet dependencies?)"

[ -z "${KR_CONFIG_ONLY:-}" ] || exit 0
log "building $flavour kernel in $O"
start=$(date +%s)
if ! kmake -j"$(jobs)" "${image##*/}" >"$O/build.log" 2>&1; then
    grep -E 'error|Error' "$O/build.log" | head -n 40 >&2 || true
    tail -n 20 "$O/build.log" >&2
    die "$flavour kernel build failed (full log: $O/build.log)"
fi
log "$flavour kernel built in $(( $(date +%s) - start ))s: $O/$image"
