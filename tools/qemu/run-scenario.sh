#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run one scenario on one kernel flavour in QEMU (TCG) and judge it:
#
#   tools/qemu/run-scenario.sh FLAVOUR SCENARIO
#
# Prints one line "PASS|FAIL FLAVOUR SCENARIO: reason" on stdout and exits 0 on
# PASS. The serial log is kept in $OUT_DIR/FLAVOUR/SCENARIO/serial.log; on failure
# its tail is printed on stderr.
#
# Environment: QEMU_TIMEOUT (seconds, default 300), GUEST_MEM (default 1G; 2G for
# kexec-big),
# GUEST_CPUS (default 2), CRASHKERNEL (default 96M, kdump, errno and errno-file), KR_APPEND (extra
# kernel arguments for the first kernel), KR_SEED (vmcore-pattern's seed, default random;
# fuzz and fuzz-long: kexec-fuzz's seed, default 1, the same on both kernels so
# that their replays can be diffed), KR_CALLS (fuzz: replayed calls, default
# 2000, each run 3/2 as many; fuzz-long: calls per run, default 100000; give
# fuzz-long a QEMU_TIMEOUT to match), KR_ROUNDS (race: rounds, default 3000).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

flavour=${1:?usage: run-scenario.sh FLAVOUR SCENARIO}
scenario=${2:?usage: run-scenario.sh FLAVOUR SCENARIO}
timeout_s=${QEMU_TIMEOUT:-300}
mem=${GUEST_MEM:-1G}
# The big-initrd scenario holds the random data several times over in the guest.
[ "$scenario" != kexec-big ] || mem=${GUEST_MEM:-2G}
# errno-file reads an initrd larger than the crash reservation (256 MiB on the
# debug kernel): with KASAN's shadow and that reservation taken from 1 GiB,
# the reader is killed for want of memory.
[ "$flavour" != debug ] || [ "$scenario" != errno-file ] || mem=${GUEST_MEM:-2G}
cpus=${GUEST_CPUS:-2}
crashkernel=${CRASHKERNEL:-96M}
# The debug kernel (KASAN's shadow, lockdep's tables) does not boot as a
# capture kernel in 96 MiB, and runs several times slower.
[ "$flavour" != debug ] || { crashkernel=${CRASHKERNEL:-256M}; timeout_s=${QEMU_TIMEOUT:-900}; }
# Its fuzz scenario alone takes 490 s, and 814 s on a busy machine.
[ "$flavour" != debug ] || [ "$scenario" != fuzz ] || timeout_s=${QEMU_TIMEOUT:-1800}

# The stage whose KR-DONE ends a successful run.
case $scenario in
    boot | errno | errno-file | crash-shrink | leak | fuzz | fuzz-long | race | kexec-sig-nolockdown) final=1 ;;
    kexec | kexec-file | kexec-efi | kexec-l4 | kexec-el2 | unload | kexec-big | bench-copy | kexec-sig | handover | kexec-cma) final=2 ;;
    kdump | kdump-file | kdump-el2 | vmcore-pattern | vmcore-bad | crash-types | kdump-cma | hibernate) final=capture ;;
    # With room for DIMMs, QEMU adds an SRAT whose hotpluggable range a NUMA
    # capture kernel (Debian's configuration) spends some 34 MiB more on: 96
    # MiB no longer boots it.
    hotplug | hotplug-load) final=capture crashkernel=${CRASHKERNEL:-256M} ;;
    virtio-mem) final=capture crashkernel=${CRASHKERNEL:-256M} ;;
    # Above 4 GiB, in a 6 GiB guest (about 2 GiB of it below 4 GiB): a
    # reservation asked high (with the low part it implies), and a plain one
    # too large for the memory below 4 GiB, which must fall back above it.
    kdump-high) final=capture crashkernel=${CRASHKERNEL:-256M,high} mem=${GUEST_MEM:-6G} ;;
    kdump-fallback) final=capture crashkernel=${CRASHKERNEL:-2G} mem=${GUEST_MEM:-6G} ;;
    # The machine resets from the relocate stub's exception reporter: no stage
    # finishes. Rust only: the stock stub's reporter halts instead.
    stub-exception) final=none ;;
    # Malformed crashkernel= values: the kernel boots without a reservation.
    crashkernel-bad1) final=1 crashkernel=${CRASHKERNEL:-64Mx} ;;
    crashkernel-bad2) final=1 crashkernel=${CRASHKERNEL:-1G-512M:64M} ;;
    crashkernel-bad3) final=1 crashkernel=${CRASHKERNEL:-512M-2G:64M@} ;;
    *) die "unknown scenario '$scenario'" ;;
esac

# The stock flavours (stock, handover-stock) are the reference: no kexec_rust.
is_stock() { case $flavour in stock | *-stock) return 0 ;; esac; return 1; }
# hotplug (kexec_file_load) and hotplug-load (kexec_load, KEXEC_UPDATE_ELFCOREHDR).
is_hotplug() { case $scenario in hotplug | hotplug-load) return 0 ;; esac; return 1; }
bzimage=$BUILD_DIR/$flavour/$(kernel_image "$flavour")
arch=$(flavour_arch "$flavour")
initramfs=$OUT_DIR/$flavour.cpio.gz
# kexec-sig*: the initramfs with the signed and unsigned images in /boot/sig.
case $scenario in kexec-sig*) initramfs=$OUT_DIR/$flavour-sig.cpio.gz ;; esac
[ -f "$bzimage" ] || die "no $flavour kernel: run scripts/build-kernel.sh $flavour"
[ -f "$initramfs" ] || die "no $flavour initramfs $initramfs: run tools/initramfs/build.sh $flavour"

dir=$OUT_DIR/$flavour/$scenario
if [ "$scenario" = vmcore-bad ]; then
    case_=${KR_CASE:?vmcore-bad needs KR_CASE (vmcore-pattern badcases lists them)}
    dir=$OUT_DIR/$flavour/$scenario-$case_
fi
if [ "$scenario" = crash-types ]; then
    case_=${KR_CASE:?crash-types needs KR_CASE (one of: $CRASH_TYPES)}
    dir=$OUT_DIR/$flavour/$scenario-$case_
    case $(flavour_arch "$flavour"):" $ARM64_CRASH_TYPES " in
        arm64:*" $case_ "*) ;;
        arm64:*) die "crash type '$case_' is not one of arm64's ($ARM64_CRASH_TYPES)" ;;
    esac
    # The panic message each way of dying must leave in the dumped kernel log
    # (arm64's own where its fault handlers word it differently).
    panic_msg=
    case $(flavour_arch "$flavour"):$case_ in
        arm64:exception) panic_msg="Unable to handle kernel NULL pointer dereference" ;;
        arm64:stack-overflow) panic_msg="Kernel panic - not syncing: kernel stack overflow" ;;
    esac
    [ -n "$panic_msg" ] || case $case_ in
        panic) panic_msg="Kernel panic - not syncing: dumptest" ;;
        panic-irqoff) panic_msg="Kernel panic - not syncing: panic stop irqoff test" ;;
        panic-hardirq) panic_msg="Kernel panic - not syncing: from hard IRQ context" ;;
        bug) panic_msg="kernel BUG at drivers/misc/lkdtm/bugs.c" ;;
        exception) panic_msg="BUG: kernel NULL pointer dereference" ;;
        warning) panic_msg="Kernel panic - not syncing: kernel: panic_on_warn set" ;;
        stack-overflow) panic_msg="BUG: TASK stack guard page was hit at" ;;
        softlockup) panic_msg="Kernel panic - not syncing: softlockup: hung tasks" ;;
        hardlockup) panic_msg="Kernel panic - not syncing: Hard LOCKUP" ;;
        hung-task) panic_msg="Kernel panic - not syncing: hung_task: blocked tasks" ;;
        nmi) panic_msg="Kernel panic - not syncing: NMI: Not continuing" ;;
        sysrq) panic_msg="sysrq triggered crash" ;;
        *) die "unknown crash type '$case_' (one of: $CRASH_TYPES)" ;;
    esac
fi
rm -rf "$dir"
mkdir -p "$dir"
serial=$dir/serial.log

console=ttyS0
[ "$arch" = x86_64 ] || console=ttyAMA0
append="console=$console panic=-1 krscenario=$scenario ${KR_APPEND:-}"
# The lockup detectors only where a scenario wants them: a TCG guest on a busy
# host can stall long enough to look like a lockup.
[ "$scenario" = crash-types ] || append="$append nowatchdog"
# arm64's crash types with pseudo-NMIs on (ARM64_PSEUDO_NMI, GICv3 priority
# masking): the crash stop IPI then reaches a CPU that spins with interrupts
# off (panic-irqoff, hardlockup), which saves its registers as on x86.
[ "$scenario:$(flavour_arch "$flavour")" != crash-types:arm64 ] || append="$append irqchip.gicv3_pseudo_nmi=1"
disk=()
case $scenario in
    kdump | kdump-file | kdump-el2 | hibernate | errno | errno-file | crash-shrink | crashkernel-bad* | vmcore-pattern | vmcore-bad | unload | crash-types | leak | \
        fuzz | fuzz-long | race | hotplug | hotplug-load | virtio-mem | kdump-cma | kdump-high | kdump-fallback)
        append="$append crashkernel=$crashkernel" ;;
esac
# kdump-cma: 64 MiB more for the capture kernel, in CMA (crashkernel=,cma).
[ "$scenario" != kdump-cma ] || append="$append crashkernel=${CRASHKERNEL_CMA:-64M},cma"
# hotplug: hot-added memory stays offline until the guest onlines it movable
# (so that the second DIMM can be taken away again).
# The second CPU comes online only after the crash image is loaded (maxcpus=1).
# (Adding a CPU through QEMU's monitor does not work under TCG: Linux takes
# QEMU's disabled MADT entries for hotpluggable CPUs only under a hypervisor
# it detects, and TCG announces none; and adding back a CPU taken away with
# device_del crashes QEMU 7.2 itself.)
case $scenario in hotplug*) append="$append memhp_default_state=offline maxcpus=1" ;; esac
# virtio-mem: the blocks its driver adds come online by themselves (movable).
[ "$scenario" != virtio-mem ] || append="$append memhp_default_state=online_movable"
case $scenario in vmcore-bad | crash-types) append="$append krcase=$case_" ;; esac
case $scenario in vmcore-pattern | fuzz | fuzz-long | hotplug | hotplug-load)
    # vmcore-pattern: a new seed each run, in the log so that a failure can be
    # replayed. fuzz: seed 1 unless given, so that both kernels replay the same
    # calls.
    if [ "$scenario" != fuzz ] && [ "$scenario" != fuzz-long ]; then
        seed=${KR_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
    else
        seed=${KR_SEED:-1}
    fi
    append="$append krseed=$seed"
    ;;
esac
case $scenario in fuzz | fuzz-long) [ -z "${KR_CALLS:-}" ] || append="$append krcalls=$KR_CALLS" ;; esac
# race: 3000 rounds (7 s on stock and rust); 300 on the debug kernel, where a
# round takes a second or more.
if [ "$scenario" = race ]; then
    rounds=${KR_ROUNDS:-}
    [ "$flavour" != debug ] || rounds=${KR_ROUNDS:-300}
    [ -z "$rounds" ] || append="$append krrounds=$rounds"
fi
if [ "$scenario" = stub-exception ]; then
    ! is_stock || die "stub-exception runs on the rust kernel only (the stock stub halts after its report)"
    # earlyprintk= names the UART the reporter prints on.
    append="$append earlyprintk=ttyS0"
fi
# The debug kernel runs on 4-level paging throughout: with LA57, KASAN decides
# whether an address has shadow from the CPU's LA57 feature bit, which
# identify_cpu() clears for a moment during boot, and an interrupt that comes in
# then (as one can in a kexec'd kernel) is reported as a wild access.
[ "$flavour" != debug ] || append="$append no5lvl krkeep=no5lvl"
# kexec-sig: the first kernel locked down (integrity), so that kexec_file_load
# refuses an image whose signature does not check out (KEXEC_SIG without
# KEXEC_SIG_FORCE); kexec-sig-nolockdown boots without it.
[ "$scenario" != kexec-sig ] || append="$append lockdown=integrity"
# The handover flavours boot with kexec handover on (the kexec'd kernels too:
# only with it does a kernel show what it got in /sys/kernel/debug/kho/in),
# except in kexec-cma
# (with KHO on, kexec_file_load places nothing in CMA), which boots with a
# 64 MiB CMA area instead.
case $flavour:$scenario in
    handover-*:kexec-cma) append="$append cma=64M" ;;
    # The crash scenarios of this flavour (hotplug, kdump-cma) without KHO.
    handover-*:hotplug* | handover-*:virtio-mem | handover-*:kdump-cma) ;;
    handover-*:*) append="$append kho=on krkeep=kho=on" ;;
esac
# kexec-l4: the first kernel on 4-level paging (the guest CPU has LA57, so
# every other scenario runs on 5-level paging).
[ "$scenario" = kexec-l4 ] && append="$append no5lvl"
# leak: load/unload cycles per kexec_load way (KR_CYCLES, default 200) and per
# kexec_file_load way (KR_FILE_CYCLES, default 40: each takes most of a second
# under TCG, hashing the kernel).
[ "$scenario" != leak ] || append="$append krcycles=${KR_CYCLES:-200} krfilecycles=${KR_FILE_CYCLES:-40}"
# KR_LEAK_SMALL=1: the cycles load the kernel's setup and first 64 KiB and a
# 64 KiB initrd (kexec_file_load's bzImage loader checks only the header), so
# that digesting the files no longer takes most of each cycle: for 10^4 cycles.
[ "$scenario" != leak ] || [ "${KR_LEAK_SMALL:-0}" = 0 ] || append="$append krleaksmall=1"
# kexec-efi boots through UEFI firmware (OVMF, Debian's ovmf package; on
# arm64 AAVMF, qemu-efi-aarch64, with a copy of its variable store), which
# loads the kernel QEMU hands it through its EFI stub. On arm64 with the GIC's
# ITS on: UEFI's persistent reservations keep the LPI tables out of the next
# kernel's way (see the virt options below). And without ACPI (acpi=off):
# with it the firmware hands the kernel ACPI tables and a device tree without
# the timer, which a kernel built without ACPI cannot boot on ("Unable to
# initialise architected timer", then a halt in machine_restart that looked
# like firmware that never reached the kernel).
firmware=()
its=off
if [ "$scenario" = kexec-efi ] && [ "$arch" = arm64 ]; then
    [ -f "$AAVMF_CODE" ] || die "no arm64 UEFI firmware at $AAVMF_CODE: run scripts/fetch-arm64.sh"
    cp "$AAVMF_VARS" "$dir/vars.fd"
    # (No network card: the firmware would try to boot from it first.)
    firmware=(-drive "if=pflash,format=raw,readonly=on,file=$AAVMF_CODE" -drive "if=pflash,format=raw,file=$dir/vars.fd"
              -nic none)
    its=on,acpi=off
elif [ "$scenario" = kexec-efi ]; then
    [ -f "$OVMF" ] || die "no UEFI firmware at $OVMF: run scripts/setup.sh"
    firmware=(-bios "$OVMF")
fi
if [ "$scenario" = kdump-high ] || [ "$scenario" = kdump-fallback ]; then
    truncate -s 8G "$dir/vmcore.img"
    disk=(-drive "file=$dir/vmcore.img,if=virtio,format=raw,cache=unsafe")
fi
if [ "$scenario" = kdump ] || [ "$scenario" = kdump-file ] || [ "$scenario" = kdump-el2 ] || [ "$scenario" = crash-types ] ||
    [ "$scenario" = kdump-cma ] || [ "$scenario" = hibernate ]; then
    truncate -s 4G "$dir/vmcore.img"
    disk=(-drive "file=$dir/vmcore.img,if=virtio,format=raw,cache=unsafe")
fi
# hibernate: a second disk, /dev/vdb, for the swap the image is written to.
if [ "$scenario" = hibernate ]; then
    [ "$arch" = arm64 ] || die "hibernate is an arm64 scenario (the x86 fragments have no HIBERNATION)"
    truncate -s 2G "$dir/swap.img"
    disk+=(-drive "file=$dir/swap.img,if=virtio,format=raw,cache=unsafe")
fi
if [ "$scenario" = vmcore-pattern ] || is_hotplug; then
    # Where the first kernel leaves the pattern's page frames for the capture kernel.
    truncate -s 16M "$dir/pattern.img"
    disk=(-drive "file=$dir/pattern.img,if=virtio,format=raw,cache=unsafe")
fi

verdict() {
    local status=$1 reason=$2
    echo "$status $flavour $scenario: $reason"
    if [ "$status" = FAIL ]; then
        echo "---- last 30 lines of $serial ----" >&2
        tail -n 30 "$serial" | sed 's/\r$//' >&2
        echo "----" >&2
        exit 1
    fi
    exit 0
}

# crash-types nmi: QEMU's monitor on a socket, and a host job that sends "nmi"
# once the guest says it is ready (QEMU injects an NMI into every CPU).
monitor=(-monitor none)
monitor_job=
if [ "$scenario" = crash-types ] && [ "$case_" = nmi ]; then
    monitor=(-monitor "unix:$dir/monitor.sock,server=on,wait=off")
    python3 "$REPO/tools/qemu/monitor.py" "$dir/monitor.sock" "$serial" "$timeout_s" nmi >"$dir/monitor.out" 2>&1 &
    monitor_job=$!
fi

# hotplug: room for two DIMMs, and a host job that adds a 512 MiB and a
# 256 MiB DIMM when the guest says KR-HOTPLUG-ADD and takes the second one
# away on KR-HOTPLUG-REMOVE (QEMU's monitor, HMP).
memory=$mem
if is_hotplug; then
    memory="$mem,slots=4,maxmem=4G"
    monitor=(-monitor "unix:$dir/monitor.sock,server=on,wait=off")
    python3 "$REPO/tools/qemu/monitor.py" "$dir/monitor.sock" "$serial" "$timeout_s" hotplug >"$dir/monitor.out" 2>&1 &
    monitor_job=$!
fi

# virtio-mem: a 1 GiB virtio-mem device backed by a file that the host fills
# with a non-zero pattern once the guest runs (QEMU discards the device's
# memory when it sets it up), before it asks, through QEMU's monitor, for
# 300 MiB of it to be plugged. Nothing is unplugged afterwards, so the
# unplugged part keeps the pattern: in the vmcore it must read as zeros.
if [ "$scenario" = virtio-mem ]; then
    memory="$mem,maxmem=4G"
    vmem_file=$dir/virtio-mem.img
    truncate -s 1G "$vmem_file"
    monitor=(-monitor "unix:$dir/monitor.sock,server=on,wait=off"
             -object "memory-backend-file,id=vmem0,size=1G,mem-path=$vmem_file,share=on"
             -device "virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0")
    python3 "$REPO/tools/qemu/monitor.py" "$dir/monitor.sock" "$serial" "$timeout_s" virtio-mem "$vmem_file" \
        >"$dir/monitor.out" 2>&1 &
    monitor_job=$!
fi

# The distro flavours run their vCPUs on one host thread: Debian's kernel
# flips static keys late in boot (sched_clock's "Marking stable", among others)
# by patching code under int3, and with a host thread per vCPU TCG can still
# run a stale translation of a patched site on the other vCPU after the
# patching ended, which the kernel reports as an "Oops: int3" in the code
# just patched (twice in one run of the distro tier, on distro-rust, right
# after "sched_clock: Marking stable"; the same sites, untouched by us, are in
# distro-stock).
accel=tcg
case $flavour in distro-*) accel=tcg,thread=single ;; esac

# arm64: QEMU's virt machine with a GICv3 and every CPU feature TCG has, with
# the cheaper implementation-defined pointer authentication (QARMA5 is slow
# under TCG). No kaslr-seed in its device tree (dtb-randomness=off): a kernel
# built without KASLR leaves the seed there, and kexec-tools then refuses to
# load ("kaslr-seed is not wiped to 0"). No GIC ITS (its=off): the first
# kernel's LPI tables stay live across a kexec, and without UEFI there is no
# persistent memory reservation to keep the next kernel out of them; the
# stock kernel then overwrites its own text as it takes them over (its
# property table, 0xc2 bytes, over mutex_init_generic). GICv3 still.
# kexec-el2, kdump-el2: the guest starts at EL2 (virtualization=on), and
# id_aa64mmfr1.vh=0 makes the kernel drop to EL1 under the hyp stub (nVHE).
virt=
case $scenario in *-el2)
    [ "$arch" = arm64 ] || die "$scenario is an arm64 scenario"
    virt=,virtualization=on append="$append id_aa64mmfr1.vh=0 krkeep=id_aa64mmfr1.vh=0" ;;
esac
qemu=(qemu-system-x86_64 -accel "$accel" -machine q35 -cpu max)
[ "$arch" = x86_64 ] ||
    qemu=(qemu-system-aarch64 -accel "$accel" -machine "virt,gic-version=3,its=$its,dtb-randomness=off$virt"
          -cpu "${QEMU_ARM64_CPU:-max,pauth-impdef=on}")

start=$(date +%s.%N)
# run_qemu APPEND SERIAL: one boot of the machine, its exit status in rc.
run_qemu() {
    set +e
    timeout --foreground -k 5 "$timeout_s" \
        "${qemu[@]}" -smp "$cpus" -m "$memory" \
        "${firmware[@]}" -kernel "$bzimage" -initrd "$initramfs" -append "$1" \
        "${disk[@]}" -display none "${monitor[@]}" -serial "file:$2" \
        -no-reboot </dev/null >>"$dir/qemu.out" 2>&1
    rc=$?
    set -e
    # A kernel message can split one of init's KR- lines: mend them so the
    # readers below see whole lines (QEMU's own log kept as *.raw.log).
    mended=$(python3 "$REPO/tools/qemu/mend-serial.py" "$2")
    [ "$mended" = 0 ] || echo "[$(date +%T)] $flavour $scenario: $mended KR- line(s) split by a kernel message, mended ($2)" >&2
}
: >"$dir/qemu.out"
run_qemu "$append" "$serial"
# hibernate: the first boot powers off once the image is written; a second
# boot with resume= must restore it, and the run goes on from there (its
# serial output appended to the first's).
if [ "$scenario" = hibernate ] && [ $rc -eq 0 ] && grep -aq '^KR-INFO hibernating' "$serial" &&
    ! grep -aq '^KR-FAIL' "$serial"; then
    run_qemu "$append resume=/dev/vdb krresumed=1" "$dir/resume.log"
    cat "$dir/resume.log" >>"$serial"
fi
[ "$scenario" != hibernate ] || rm -f "$dir/swap.img"
[ -z "$monitor_job" ] || { kill "$monitor_job" 2>/dev/null || true; wait "$monitor_job" 2>/dev/null || true; }
if [ "$scenario" = virtio-mem ]; then
    # The pattern must still be in the device's unplugged memory when the
    # capture kernel read it as zeros (else the zeros prove nothing); then the
    # 1 GiB file goes, whatever the outcome.
    info=$(grep -a -m1 '^KR-INFO virtio-mem ' "$serial" | sed 's/\r$//; s/^KR-INFO virtio-mem //' || true)
    if [ -n "$info" ]; then
        python3 - "$vmem_file" "$info" >"$dir/backing.txt" 2>&1 <<'PY' || true
import mmap, sys
path, info = sys.argv[1], sys.argv[2]
dev, plugged = info.split(", plugged ")
start = int(dev.split("+")[0], 16)
ranges = [] if plugged == "none" else [tuple(int(x, 16) for x in r.split("-")) for r in plugged.split(",")]
with open(path, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    n = 0
    for off in range(0, len(m), 4096):
        pa = start + off
        if any(a <= pa < b for a, b in ranges):
            continue
        page = m[off:off + 4096]
        if page.count(0xA5) != 4096:
            print(f"unplugged page {pa:#x} no longer holds the host's pattern")
            sys.exit(1)
        n += 1
print(f"ok: {n} unplugged pages still hold the host's pattern")
PY
    fi
    rm -f "$vmem_file"
fi
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
printf '%.1f\n' "$elapsed" >"$dir/elapsed"

if [ "$scenario" = vmcore-bad ]; then
    # What the kernel did with the header: the capture kernel's report, its own
    # log lines about it, and any warning or oops. The stock kernel's outcome is
    # recorded, not judged; ours must boot, warn nothing and name the defect.
    {
        grep -a -m1 '^KR-INFO BADHDR ' "$serial" | sed 's/\r$//; s/^KR-INFO BADHDR //' || echo "$case_: capture kernel did not reach init"
        grep -a -E '\] (kexec_rust: )?vmcore: ' "$serial" | sed 's/\r$//; s/^\[ *[0-9.]*\] //' | sed 's/at 0x[0-9a-f]* //' | head -n 3 || true
        grep -a -m1 -E '\] (WARNING:|BUG:|Oops|general protection fault)' "$serial" | sed 's/\r$//; s/^\[ *[0-9.]*\] /kernel: /' || true
    } >"$dir/outcome.txt"
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "$case_: QEMU timeout after ${timeout_s}s" >>"$dir/outcome.txt"
    if is_stock; then
        echo "PASS $flavour vmcore-bad $case_: recorded: $(tr '\n' ';' <"$dir/outcome.txt")"
        exit 0
    fi
    report=$(head -n 1 "$dir/outcome.txt")
    # A PT_LOAD in a hole of the physical address space (load-hole): x86
    # reads all-ones there, and serves it as stock does; on arm64 a read there
    # is a synchronous external abort, and ours refuses what the device tree
    # does not call memory.
    case $arch:$case_ in
        *:good | *:load-overlap | *:load-empty | x86_64:load-hole | *:note-namesz | *:note-past) want=served ;;
        *:phnum-huge) want=either ;;
        *) want=refused ;;
    esac
    case $report in
        *"no /proc/vmcore"*) got=refused ;;
        *"all read"*) got=served ;;
        *) got="other: $report" ;;
    esac
    if [ "$want" = either ]; then
        [ "${got#other}" = "$got" ] || verdict FAIL "$case_: expected the header served or refused, got $got"
    elif [ "$got" != "$want" ]; then
        verdict FAIL "$case_: expected the header $want, got $got"
    fi
    if [ "$got" = refused ]; then
        grep -aq 'kexec_rust: vmcore: elfcorehdr .*refused: \|could not be read' "$serial" ||
            verdict FAIL "$case_: refused without a log line naming the defect"
    fi
    [ "$case_" != good ] || grep -q 'data page intact' "$dir/outcome.txt" ||
        verdict FAIL "good: the data page did not read back intact"
    if [ "$want" = served ]; then
        grep -q 'mmap the same' "$dir/outcome.txt" ||
            verdict FAIL "$case_: mmap() of the whole file did not give what read() gave: $report"
    fi
fi
if [ "$scenario" = race ] && is_stock; then
    # Upstream's kexec_file_load frees an unloaded image after kexec_unlock()
    # (kernel/kexec_file.c); stock's outcome is recorded, not judged.
    outcome=$(grep -a -m1 '^KR-INFO kexec-fuzz race: ' "$serial" | sed 's/\r$//; s/^KR-INFO kexec-fuzz race: //' || true)
    oops=$(grep -a -m1 -E '\] (BUG:|Oops|general protection fault)' "$serial" | sed 's/\r$//; s/^\[ *[0-9.]*\] //' || true)
    [ $rc -eq 0 ] || outcome="${outcome:+$outcome; }QEMU exited with $rc"
    echo "PASS $flavour race: recorded: ${outcome:-no report}${oops:+; kernel: $oops}"
    exit 0
fi
if [ "$scenario" = kexec-cma ] && is_stock; then
    # Upstream takes a CMA block for the kernel aligned to CONFIG_CMA_ALIGNMENT
    # (1 MiB) only, below the bzImage's kernel_alignment (2 MiB): the kernel
    # moves itself up to the next 2 MiB and decompresses over the initrd that
    # follows it. Stock's outcome is recorded, not judged; ours must boot.
    sed -n '/^KR-CMA-BEGIN/,/^KR-CMA-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/cma.txt" || true
    second=$(awk '/krstage=2/ {f=1} f' "$serial" | grep -a -m1 -E 'KR-PASS second kernel|Initramfs unpacking failed|Kernel panic' |
        sed 's/\r$//; s/^\[ *[0-9.]*\] //' || true)
    echo "PASS $flavour kexec-cma: recorded: $(grep -c 'in the CMA area' "$dir/cma.txt") of $(grep -c '^segment ' "$dir/cma.txt") segments in CMA blocks; second kernel: ${second:-no report}"
    exit 0
fi
[ $rc -eq 124 ] || [ $rc -eq 137 ] && verdict FAIL "QEMU timeout after ${timeout_s}s"
[ $rc -eq 0 ] || verdict FAIL "QEMU exited with $rc: $(head -c 300 "$dir/qemu.out")"
grep -a -m1 '^KR-FAIL' "$serial" >"$dir/fail" && verdict FAIL "guest: $(sed 's/\r$//' "$dir/fail")"
# A kernel that warned, oopsed or hit a BUG did not pass, whatever userspace saw.
# crash-types: the first kernel dies on purpose; only the capture kernel (from
# the second "Linux version" line on) is judged.
judged=$serial
if [ "$scenario" = crash-types ]; then
    judged=$dir/capture.log
    awk '/Linux version / {n++} n >= 2' "$serial" >"$judged"
fi
grep -a -m1 -E '\] (WARNING:|BUG:|Oops|general protection fault)' "$judged" >"$dir/warn" &&
    verdict FAIL "kernel: $(sed 's/\r$//' "$dir/warn")"
if [ "$scenario" = stub-exception ]; then
    report=$(grep -a -m1 'kexec_rust stub: exception' "$serial" | tr -d '\r' || true)
    [ -n "$report" ] || verdict FAIL "no report from the relocate stub's exception reporter"
    # #UD (6), no error code, at the image's entry point 0x10000000.
    echo "$report" | grep -q 'exception 0000000000000006 error 0000000000000000 rip 0000000010000000 ' ||
        verdict FAIL "unexpected report: $report"
    verdict PASS "the stub reported the #UD and reset the machine: $report"
fi
grep -aq "^KR-DONE $scenario stage=$final" "$serial" ||
    verdict FAIL "stage '$final' never finished (no KR-DONE)"

# Every kernel that booted must have named its implementation: the rust flavour
# prints the kexec_rust banner, the stock one must not.
boots=$(grep -ac 'Linux version ' "$serial" || true)
banners=$(grep -ac 'kexec_rust: ' "$serial" || true)
if ! is_stock; then
    [ "$banners" -ge "$boots" ] || verdict FAIL "$boots kernels booted but only $banners kexec_rust banners"
else
    [ "$banners" -eq 0 ] || verdict FAIL "stock kernel printed a kexec_rust banner"
fi

if [ "$scenario" = errno ]; then
    sed -n '/^KR-ERRNO-BEGIN/,/^KR-ERRNO-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/errno.txt"
    cases=$(grep -c '^[0-9][0-9] ' "$dir/errno.txt" || true)
    [ "$cases" -ge 40 ] || verdict FAIL "kexec-errno printed only $cases cases"
    verdict PASS "kexec-errno ran $cases cases in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = errno-file ]; then
    # The kexec_file_load corpus: one line per case (errno and the three sysfs
    # values after it) and the kernel's lines, which the host diffs.
    sed -n '/^KR-FILE-ERRNO-BEGIN/,/^KR-FILE-ERRNO-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/file-errno.txt" || true
    cases=$(grep -c '^[0-9]\{2,\} ' "$dir/file-errno.txt" || true)
    [ "$cases" -ge 40 ] || verdict FAIL "kexec-errno file printed only $cases cases"
    verdict PASS "kexec-errno file ran $cases kexec_file_load cases in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = kexec-sig ] || [ "$scenario" = kexec-sig-nolockdown ]; then
    # Per image (and kexec_load): the errno, kexec_loaded after the call, and
    # the kernel's lines with stock's prefixes; the host diffs the two kernels'.
    sed -n '/^KR-SIG-BEGIN/,/^KR-SIG-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/sig.txt" || true
    answers=$(grep -E '^(trusted|untrusted|unsigned|modified|kexec_load) [^ ]+ kexec_loaded=' "$dir/sig.txt" |
        cut -d' ' -f1,2 | paste -sd ';' | sed 's/;/; /g' || true)
    [ "$(grep -c ' kexec_loaded=' "$dir/sig.txt" || true)" -eq 5 ] || verdict FAIL "expected 5 answers (4 images, kexec_load), got: $answers"
    verdict PASS "$answers; $boots kernels booted, stage '$final' reached in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = handover ]; then
    # Both kernels' KR-HANDOVER blocks (placement in the scratch areas, the
    # measurement list before and after the kexec), which the host diffs.
    sed -n '/^KR-HANDOVER-BEGIN/,/^KR-HANDOVER-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/handover.txt" || true
    carried=$(grep -c '^carried: ' "$dir/handover.txt" || true)
    [ "$carried" -ge 3 ] || verdict FAIL "the second kernel listed $carried measurements"
    verdict PASS "$(grep -c '^segment ' "$dir/handover.txt") segments in KHO scratch; $carried IMA measurements in the second kernel; $boots kernels booted in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = kexec-cma ]; then
    sed -n '/^KR-CMA-BEGIN/,/^KR-CMA-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/cma.txt" || true
    verdict PASS "$(grep -c 'in the CMA area' "$dir/cma.txt") of $(grep -c '^segment ' "$dir/cma.txt") segments in CMA blocks; $boots kernels booted in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = fuzz ] || [ "$scenario" = fuzz-long ]; then
    # fuzz: the replay's lines, which the host diffs between the two kernels.
    replayed=
    if [ "$scenario" = fuzz ]; then
        sed -n '/^KR-FUZZ-BEGIN/,/^KR-FUZZ-END/p' "$serial" | sed 's/\r$//' |
            grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/fuzz.txt"
        want=${KR_CALLS:-2000}
        lines=$(grep -c '^[0-9]\{5,\} ' "$dir/fuzz.txt" || true)
        [ "$lines" -eq "$want" ] || verdict FAIL "kexec-fuzz replay printed $lines of $want calls"
        replayed="replay of $lines calls (seed $seed); "
    fi
    # The two runs' summaries, without their errno counts.
    runs=$(grep -a '^KR-INFO kexec-fuzz: seed ' "$serial" | sed 's/\r$//; s/^KR-INFO kexec-fuzz: //; s/, errnos: [^,]*,/,/' || true)
    [ "$(printf '%s\n' "$runs" | grep -c 'seed')" -eq 2 ] || verdict FAIL "expected the summaries of two kexec-fuzz runs, got: $runs"
    verdict PASS "$replayed$(printf '%s\n' "$runs" | paste -sd ';' | sed 's/;/; /g') ($(cat "$dir/elapsed")s in all)"
fi
if [ "$scenario" = race ]; then
    summary=$(grep -a -m1 '^KR-INFO kexec-fuzz race: .* without a complaint' "$serial" | sed 's/\r$//; s/^KR-INFO //' || true)
    [ -n "$summary" ] || verdict FAIL "kexec-fuzz race printed no summary"
    verdict PASS "$summary ($(cat "$dir/elapsed")s)"
fi
if [ "$scenario" = leak ]; then
    # Memory a load takes must come back at its unload: after the cycles of a
    # way, MemAvailable may be at most LEAK_SLACK_MIB lower and unreclaimable
    # slab at most LEAK_SLAB_KB higher. Between two readings with no leak,
    # MemAvailable wanders by up to about 15 MiB (page lists per CPU, lazily
    # freed vmalloc areas of kexec_file_load's file buffers), slab by a few
    # KiB. So 200 cycles catch a leak of 80 KiB or more per cycle (a segment,
    # an image), 40 one of 400 KiB (an image), 10^4 one of 2 KiB, under a page.
    sed -n '/^KR-LEAK-BEGIN/,/^KR-LEAK-END/p' "$serial" | sed 's/\r$//' |
        grep '^LEAK ' >"$dir/leak.txt" || true
    ways=$(grep -c ' done ' "$dir/leak.txt" || true)
    [ "$ways" -eq 4 ] || verdict FAIL "only $ways of 4 ways finished: $(tail -n 2 "$dir/leak.txt" | tr '\n' ';')"
    slack_kb=$(( ${LEAK_SLACK_MIB:-16} * 1024 ))
    slab_kb=${LEAK_SLAB_KB:-256}
    summary=
    while read -r _ way _ cycles secs _ avail slab unrec; do
        a=${avail#*=} s=${slab#*=} u=${unrec#*=}
        [ "$a" -le "$slack_kb" ] || verdict FAIL "$way: MemAvailable ${a} KiB lower after ${cycles#*=} cycles (slack $slack_kb)"
        # The debug kernel's KASAN keeps freed objects in a quarantine of up
        # to 1/32 of memory, counted as slab: its slab figures are shown, not
        # judged (there, the scenario is for the sanitizers).
        [ "$u" -le "$slab_kb" ] || [ "$flavour" = debug ] ||
            verdict FAIL "$way: unreclaimable slab ${u} KiB higher after ${cycles#*=} cycles (slack $slab_kb)"
        summary="$summary $way ${cycles#*=}x ${secs#*=}s drift ${a}/${s}/${u} KiB;"
    done < <(grep ' done ' "$dir/leak.txt")
    verdict PASS "MemAvailable/slab/unreclaimable drift:$summary"
fi
if [ "$scenario" = crash-shrink ]; then
    sed -n '/^KR-SHRINK-BEGIN/,/^KR-SHRINK-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/outcome.txt"
    grep -q '^write 67108864: ok; size now 67108864$' "$dir/outcome.txt" ||
        verdict FAIL "shrinking to 64 MiB did not work: $(tr '\n' ';' <"$dir/outcome.txt")"
    verdict PASS "kexec_crash_size: $(grep -c '^write' "$dir/outcome.txt") writes"
fi
case $scenario in crashkernel-bad*)
    sed -n '/^KR-CRASHK-BEGIN/,/^KR-CRASHK-END/p' "$serial" | sed 's/\r$//' |
        grep -v '^KR-\|^\[ *[0-9.]*\]' >"$dir/outcome.txt"
    grep -q '^iomem Crash kernel lines: 0$' "$dir/outcome.txt" ||
        verdict FAIL "crashkernel=$crashkernel reserved memory: $(tr '\n' ';' <"$dir/outcome.txt")"
    if ! is_stock; then
        # Ours must say which rule the value broke.
        why=$(grep -a -m1 'no memory is reserved for a crash kernel' "$serial" | sed 's/\r$//; s/^\[ *[0-9.]*\] //')
        [ -n "$why" ] || verdict FAIL "no log line about the malformed crashkernel=$crashkernel"
        verdict PASS "crashkernel=$crashkernel: booted without a reservation; logged \"$why\""
    fi
    verdict PASS "crashkernel=$crashkernel: booted without a reservation"
    ;;
esac
if [ "$scenario" = vmcore-bad ]; then
    verdict PASS "$(tr '\n' ';' <"$dir/outcome.txt")"
fi
if [ "$scenario" = vmcore-pattern ]; then
    what=$(grep -a -m1 '^KR-INFO vmcore-pattern: ' "$serial" | sed 's/\r$//; s/^KR-INFO //')
    [ -n "$what" ] || verdict FAIL "no summary from vmcore-pattern check"
    verdict PASS "$what, in $(cat "$dir/elapsed")s"
fi
# What the last kernel's device tree had in /chosen (dt_chosen in the init),
# for the comparison of the two kernels' kexec_file_load trees.
grep -a '^KR-INFO dt-chosen ' "$serial" | tail -n 1 | sed 's/\r$//; s/^KR-INFO dt-chosen //' >"$dir/chosen.txt" || true
if [ "$scenario" = hibernate ] && is_stock && grep -aq '^KR-DONE hibernate stage=capture' "$serial"; then
    # Upstream's crash_is_nosave() leaves every page of the reservation that
    # no segment holds out of the hibernation image, the crash image's
    # VMCOREINFO safe copy among them: after the resume its dump lacks
    # VMCOREINFO. Stock's vmcore check is recorded, not judged; ours must pass.
    "$REPO/tools/vmcore/check.sh" "$flavour" "$dir" >"$dir/check.log" 2>&1 || true
    rm -f "$dir/vmcore" "$dir/vmcore.img"
    echo "PASS $flavour hibernate: recorded: resumed, captured; vmcore check: $(grep -m2 'BAD\|vmcore OK' "$dir/check.log" | paste -sd';')"
    exit 0
fi
if [ "$scenario" = hibernate ]; then
    grep -aq '^KR-INFO resumed at' "$serial" || verdict FAIL "the machine did not come back from hibernation"
    # The second boot read the whole image back; the first's init then went
    # on (a fresh init with krresumed=1 fails at once).
    grep -aq 'PM: Image loading done' "$dir/resume.log" ||
        verdict FAIL "the second boot did not load the hibernation image"
fi
if [ "$scenario" = kdump ] || [ "$scenario" = kdump-file ] || [ "$scenario" = kdump-el2 ] || [ "$scenario" = hibernate ]; then
    "$REPO/tools/vmcore/check.sh" "$flavour" "$dir" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; verdict FAIL "vmcore check failed (see $dir/check.log)"; }
    verdict PASS "$(tail -n 1 "$dir/check.log") in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = kdump-high ] || [ "$scenario" = kdump-fallback ]; then
    # The reservations, by size and side of 4 GiB (outcome.txt, which the
    # host compares between the kernels), and their exact ranges.
    sed -n '/^KR-IOMEM-BEGIN/,/^KR-IOMEM-END/p' "$serial" | sed 's/\r$//' |
        awk -F' : ' '$2 == "Crash kernel" {print $1}' | tr -d ' ' >"$dir/reservations.txt"
    while IFS=- read -r a b; do
        echo "crash kernel: $(( (0x$b - 0x$a + 1) >> 20 )) MiB $([ $((0x$a)) -ge $((1 << 32)) ] && echo above || echo below) 4 GiB"
    done <"$dir/reservations.txt" | sort >"$dir/outcome.txt"
    high=$(grep -c ' above ' "$dir/outcome.txt" || true) low=$(grep -c ' below ' "$dir/outcome.txt" || true)
    [ "$high" -eq 1 ] && [ "$low" -eq 1 ] ||
        verdict FAIL "expected one reservation above 4 GiB and its low part below: $(tr '\n' ';' <"$dir/outcome.txt")"
    "$REPO/tools/vmcore/check.sh" "$flavour" "$dir" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; verdict FAIL "vmcore check failed (see $dir/check.log)"; }
    [ -n "${KR_KEEP_VMCORE:-}" ] || rm -f "$dir/vmcore" "$dir/vmcore.img"
    verdict PASS "crashkernel=$crashkernel: $(paste -sd';' "$dir/outcome.txt" | sed 's/;/; /g') ($(paste -sd' ' "$dir/reservations.txt")); $(tail -n 1 "$dir/check.log") in $(cat "$dir/elapsed")s"
fi
if is_hotplug; then
    # The DIMMs' addresses as QEMU placed them (its monitor's answer).
    dimm() { tr -d '\r' <"$dir/monitor.out" | awk -v id="$1" '$0 ~ "^Memory device .*\"" id "\"$" {f=1} f && $1 == "addr:" {a=$2} f && $1 == "size:" {print a, $2; exit}'; }
    read -r a1 s1 < <(dimm dimm1) || true
    read -r a2 s2 < <(dimm dimm2) || true
    [ -n "${a1:-}" ] && [ -n "${a2:-}" ] || verdict FAIL "QEMU did not report both DIMMs (see $dir/monitor.out)"
    sed -n '/^KR-LOADS-BEGIN/,/^KR-LOADS-END/p' "$serial" | sed 's/\r$//' | grep '^load ' >"$dir/loads.txt" || true
    # covered START SIZE: the bytes of [START, START + SIZE) in the PT_LOADs.
    covered() {
        python3 - "$1" "$2" "$dir/loads.txt" <<'PY'
import sys
lo = int(sys.argv[1], 0); hi = lo + int(sys.argv[2], 0)
n = 0
for l in open(sys.argv[3]):
    _, a, b = l.split()
    a, b = max(int(a, 0), lo), min(int(b, 0), hi)
    n += max(0, b - a)
print(n)
PY
    }
    c1=$(covered "$a1" "$s1") c2=$(covered "$a2" "$s2")
    layout=$(grep -a -m1 '^KR-INFO hotplug layout: ' "$serial" | sed 's/\r$//; s/^KR-INFO hotplug layout: //')
    pattern=$(grep -a -m1 '^KR-INFO vmcore-pattern: ' "$serial" | sed 's/\r$//; s/^KR-INFO vmcore-pattern: //')
    above=$(echo "$pattern" | sed -n 's/.*; \([0-9]*\) of the pages in .*/\1/p')
    summary="dimm1 $a1+$s1: $c1 bytes in PT_LOADs; removed dimm2 $a2+$s2: $c2; ${above:-?} pattern pages above 4 GiB; $layout"
    echo "$summary" >"$dir/outcome.txt"
    [ "$c1" -eq "$((s1))" ] || verdict FAIL "the hot-added DIMM is not all in the vmcore: $summary"
    [ "${above:-0}" -gt 0 ] || verdict FAIL "no page of the pattern landed in the hot-added memory: $summary"
    [ "$layout" = "prstatus=$cpus" ] || verdict FAIL "expected one NT_PRSTATUS for each of the $cpus CPUs: $summary"
    if [ "$c2" -ne 0 ]; then
        # See Documentation: stock rewrites the elfcorehdr when the memory goes
        # offline, while it is still System RAM, and not after it is removed.
        is_stock || verdict FAIL "the removed DIMM is still in the vmcore: $summary"
    fi
    verdict PASS "$summary, in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = virtio-mem ]; then
    grep '^filled ' "$dir/monitor.out" >/dev/null || verdict FAIL "the host never filled the device's memory (see $dir/monitor.out)"
    out=$(grep -a -m1 '^KR-INFO vmem: ' "$serial" | sed 's/\r$//; s/^KR-INFO vmem: //' || true)
    [ -n "$out" ] || verdict FAIL "the capture kernel did not report on the device's memory"
    grep '^ok: ' "$dir/backing.txt" >/dev/null ||
        verdict FAIL "the host's pattern: $(cat "$dir/backing.txt" 2>/dev/null || echo "not checked")"
    # (How many plugged pages the first kernel left non-zero is its own
    # business, and not compared between kernels.)
    echo "$info; $out" | sed 's/ ([0-9]* not zero)//' >"$dir/outcome.txt"
    verdict PASS "$info; $out; $(sed 's/^ok: //' "$dir/backing.txt") at the end, in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = kdump-cma ]; then
    cma=$(grep -a -m1 '^KR-INFO cma ' "$serial" | sed 's/\r$//; s/^KR-INFO //')
    [ -n "$cma" ] || verdict FAIL "the capture kernel did not report on the CMA range"
    "$REPO/tools/vmcore/check.sh" "$flavour" "$dir" >"$dir/check.log" 2>&1 ||
        { cat "$dir/check.log" >&2; verdict FAIL "vmcore check failed (see $dir/check.log)"; }
    verdict PASS "$cma; $(tail -n 1 "$dir/check.log") in $(cat "$dir/elapsed")s"
fi
if [ "$scenario" = crash-types ]; then
    grep -aq "^KR-INFO crash $case_" "$serial" || verdict FAIL "the first kernel never provoked the crash"
    # The whole vmcore check, with this crash type's panic message; the
    # vmcore (the guest's RAM) is deleted afterwards, its reports are kept.
    ok=0
    KR_PANIC_MSG=$panic_msg "$REPO/tools/vmcore/check.sh" "$flavour" "$dir" >"$dir/check.log" 2>&1 || ok=$?
    [ -n "${KR_KEEP_VMCORE:-}" ] || rm -f "$dir/vmcore" "$dir/vmcore.img"
    [ $ok -eq 0 ] || { cat "$dir/check.log" >&2; verdict FAIL "$case_: vmcore check failed (see $dir/check.log)"; }
    verdict PASS "$case_: $(tail -n 1 "$dir/check.log" | sed 's/; makedumpfile found/; found/') in $(cat "$dir/elapsed")s"
fi
verdict PASS "$boots kernels booted, stage '$final' reached in $(cat "$dir/elapsed")s"
