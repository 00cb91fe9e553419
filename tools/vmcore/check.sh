#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Check the vmcore a kdump run saved: tools/vmcore/check.sh FLAVOUR RUN_DIR
#
# RUN_DIR holds serial.log and vmcore.img (the capture kernel's virtio disk). The
# vmcore is cut to the size the capture kernel reported and checked three ways:
#   1. vmcore-check (ours): ELF64 core, one PT_NOTE, an NT_PRSTATUS per CPU,
#      VMCOREINFO with OSRELEASE and PAGESIZE, PT_LOADs covering System RAM of the
#      crashed kernel outside the crash kernel reservation;
#   2. readelf: an independent ELF reader agrees on the NT_PRSTATUS count;
#   3. makedumpfile --dump-dmesg: the panic message is in the dumped kernel log;
#   4. makedumpfile -l -d 31, the filtered, compressed dump distributions save;
#   5. drgn with vmlinux: the kernel log it reads must be makedumpfile's, line for
#      line, and init_uts_ns the first kernel's release.
# The last line printed is a one-line summary.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

flavour=${1:?usage: check.sh FLAVOUR RUN_DIR}
dir=${2:?usage: check.sh FLAVOUR RUN_DIR}
serial=$dir/serial.log
# The message the crash left in the log (crash-types sets its own).
panic_msg=${KR_PANIC_MSG:-sysrq triggered crash}

field() { grep -a -m1 "$1" "$serial" | sed 's/\r$//'; }
size=$(field '^KR-VMCORE ' | sed -n 's/.* size=\([0-9]*\).*/\1/p')
[ -n "$size" ] || die "the capture kernel did not report a vmcore size"
release=$(field '^KR-STAGE 1 ' | awk '{print $4}')
cpus=$(field '^KR-INFO cpus=' | sed 's/.*cpus=//')
sed -n '/^KR-IOMEM-BEGIN/,/^KR-IOMEM-END/p' "$serial" | sed 's/\r$//' | grep -v '^KR-' >"$dir/iomem.txt"

if [ -f "$dir/vmcore.img" ]; then
    truncate -s "$size" "$dir/vmcore.img"
    mv "$dir/vmcore.img" "$dir/vmcore"
fi
vmcore=$dir/vmcore

(cd "$REPO" && cargo build --quiet --release -p vmcore-check)
checker=$CARGO_TARGET/release/vmcore-check
# kexec_file_load's elfcorehdr leaves out the first MiB on x86 (its copy lives
# in the crash kernel's memory); kexec-tools' elfcorehdr (kexec -p) covers it.
extra=()
case $(flavour_arch "$flavour"):$(basename "$dir") in
    x86_64:kdump-file | x86_64:kdump-cma | x86_64:kdump-fallback) extra=(--not-dumped 0-100000) ;;
esac
# crashkernel=,cma: the CMA ranges are the capture kernel's, not in the dump.
for r in $(grep -a -m1 '^KR-INFO crash_cma_ranges ' "$serial" | sed 's/\r$//; s/^KR-INFO crash_cma_ranges //'); do
    extra+=(--not-dumped "${r%-*}-$(printf '%x' $((0x${r#*-} + 1)))") # its end is inclusive
done
# The arm64 flavours' dumps are arm64's; the host's makedumpfile reads only
# x86_64 dumps, so theirs is Debian 12's arm64 build under qemu-user
# (scripts/fetch-arm64.sh).
machine=x86_64 makedumpfile=makedumpfile
if [ "$(flavour_arch "$flavour")" = arm64 ]; then
    machine=aarch64 makedumpfile=$CACHE/arm64/makedumpfile
    [ -x "$makedumpfile" ] || die "no arm64 makedumpfile at $makedumpfile: run scripts/fetch-arm64.sh"
fi
summary=$("$checker" --cpus "$cpus" --release "$release" --iomem "$dir/iomem.txt" \
    --layout "$dir/layout.txt" --machine "$machine" "${extra[@]}" "$vmcore") || { echo "$summary"; exit 1; }
echo "$summary"

readelf -W -n -l "$vmcore" >"$dir/readelf.txt" 2>"$dir/readelf.err" ||
    die "readelf could not read the vmcore: $(head -n 3 "$dir/readelf.err")"
[ ! -s "$dir/readelf.err" ] || die "readelf complained: $(head -n 3 "$dir/readelf.err")"
n=$(grep -c 'NT_PRSTATUS' "$dir/readelf.txt" || true)
[ "$n" -eq "$cpus" ] || die "readelf sees $n NT_PRSTATUS notes, expected $cpus"
echo "readelf: $n NT_PRSTATUS notes, $(grep -c '^  LOAD' "$dir/readelf.txt") LOAD segments"

rm -f "$dir/dmesg.txt" "$dir/dump.31"
timeout 300 "$makedumpfile" --dump-dmesg "$vmcore" "$dir/dmesg.txt" >"$dir/makedumpfile.log" 2>&1 ||
    die "makedumpfile --dump-dmesg failed: $(tail -n 3 "$dir/makedumpfile.log")"
grep -qF "$panic_msg" "$dir/dmesg.txt" || die "no '$panic_msg' in the kernel log makedumpfile read from the vmcore"
# Message level 22: its report of what it left out, without the progress bars.
timeout 600 "$makedumpfile" -l -d 31 --message-level 22 "$vmcore" "$dir/dump.31" >"$dir/makedumpfile-d31.log" 2>&1 ||
    die "makedumpfile -l -d 31 failed: $(tail -n 3 "$dir/makedumpfile-d31.log")"
d31=$(stat -c %s "$dir/dump.31")
rm -f "$dir/dump.31"
# What -d 31 excluded, by kind, in pages ($dir/d31.txt, for the comparisons
# between two kernels in tools/run-tests.sh): it can tell free, cache and user
# pages apart only through VMCOREINFO's symbols, sizes and offsets.
awk -F: '
    /^Original pages/ {k = "original"} /Pages filled with zero/ {k = "zero"}
    /Non-private cache pages/ {k = "cache"} /^ *Private cache pages/ {k = "private"}
    /User process data pages/ {k = "user"} /Free pages/ {k = "free"}
    /Remaining pages/ {k = "remaining"}
    k != "" {gsub(/ /, "", $2); print k, $2; k = ""}' "$dir/makedumpfile-d31.log" |
    while read -r k v; do echo "$k $((v))"; done >"$dir/d31.txt"
[ "$(wc -l <"$dir/d31.txt")" -eq 7 ] || die "no page report from makedumpfile -l -d 31 (see $dir/makedumpfile-d31.log)"
d31v() { awk -v k="$1" '$1 == k {print $2}' "$dir/d31.txt"; }
d31="$d31-byte dump keeping $(d31v remaining) of $(d31v original) pages (free $(d31v free), cache $(d31v cache), user $(d31v user), zero $(d31v zero) left out)"

# drgn needs the kernel's DWARF; the distro flavours are built without debug
# info (their build time), so there it cannot run and says so.
# (grep reads all of readelf's output: with pipefail, a grep -q that stopped at
# the first match could leave readelf dead of SIGPIPE and the test false.)
if ! readelf -S "$BUILD_DIR/$flavour/vmlinux" 2>/dev/null | grep '\.debug_info' >/dev/null; then
    echo "$summary; makedumpfile found \"$panic_msg\" in the dumped log, -l -d 31 made a $d31; drgn not run (the $flavour vmlinux has no DWARF)"
    exit 0
fi
timeout 300 "$CACHE/venv/bin/drgn" -c "$vmcore" -s "$BUILD_DIR/$flavour/vmlinux" -q -e '
from drgn.helpers.linux.printk import get_printk_records
for r in get_printk_records(prog):
    print(r.text.decode(errors="replace"))
print("KR-RELEASE", prog["init_uts_ns"].name.release.string_().decode())
' >"$dir/drgn.txt" 2>"$dir/drgn.err" || die "drgn could not read the vmcore: $(tail -n 3 "$dir/drgn.err")"
got=$(sed -n 's/^KR-RELEASE //p' "$dir/drgn.txt")
[ "$got" = "$release" ] || die "drgn reads release '$got' from init_uts_ns, expected '$release'"
grep -v '^KR-RELEASE ' "$dir/drgn.txt" >"$dir/drgn-log.txt"
# makedumpfile indents a record's continuation lines under its text; drgn
# prints them as they are: leading blanks are not compared.
sed 's/^\[ *[0-9.]*\] //; s/^ *//' "$dir/dmesg.txt" | diff -u - <(sed 's/^ *//' "$dir/drgn-log.txt") >"$dir/log.diff" ||
    die "drgn and makedumpfile read different kernel logs (see $dir/log.diff)"
echo "$summary; makedumpfile found \"$panic_msg\" in the dumped log, -l -d 31 made a $d31; drgn read the same $(wc -l <"$dir/drgn-log.txt") log lines"
