#!/usr/bin/env bash
# run-in-guest.sh PAYLOAD_DIR 'command'
# run-in-guest.sh --deps        (install qemu etc. on the host, nothing else)
#
# Runs `bash -c 'command'` as root inside a throw-away Debian bookworm guest
# (systemd as PID 1, pure cgroup v2, runc + dbus installed), with a copy of
# PAYLOAD_DIR as the working directory /payload. Prints the command's stdout
# (to stdout) and stderr (to stderr) and exits with its status.
#
# Everything is cached under $VMTEST_DIR (default /var/tmp/vmtest):
#   image-KEY/   rootfs.img (ext4, built by mmdebstrap + mkfs.ext4 -d), vmlinux,
#                initrd.img                           -- first run, ~45 s
#   image-KEY/warm-KEY2/  disk.qcow2 + state: a VM saved right after boot,
#                waiting for a command                -- second run, ~10 s
# Later runs restore the saved VM (qemu -incoming) instead of booting, so the
# command starts within a few seconds. Disks are opened with snapshot=on:
# every run starts from the same pristine state, and runs may go in parallel.
#
# Environment knobs:
#   VMTEST_DIR      cache dir                       (default <repo>/build/vm)
#   VMTEST_ACCEL    auto|kvm|tcg   (default auto: kvm only when the CPU has
#                   vmx/svm; on this Firecracker host /dev/kvm is PVM, which
#                   cannot run a stock kernel usefully -> tcg, see README)
#   VMTEST_MEM      guest MiB (default 1024)       VMTEST_SMP  vCPUs (default 2)
#   VMTEST_TIMEOUT  seconds before the VM is killed (default 900)
#   VMTEST_APPEND   extra kernel command line
#   VMTEST_EXTRA_PACKAGES  comma list of extra Debian packages (new image)
#   VMTEST_PAYLOAD=copy|mount  copy: PAYLOAD_DIR is copied to /payload (default;
#                   ~25 MB/s under TCG). mount: /payload IS the 9p share, read-only,
#                   no copy (fast for big payloads; exec works)
#   VMTEST_WARM=0   always cold-boot (no saved-VM restore)
#   VMTEST_REBUILD=1  rebuild the image (and the saved VM)
#   VMTEST_KEEP=1   keep the per-run dir (console log, ctl files)
#
# Exit status: the command's; 125 when the guest produced none (boot failure,
# timeout, guest crash) -- then qemu's log and the console tail go to stderr.
set -euo pipefail

IMAGE_VERSION=4   # bump when the image recipe below changes
WARM_VERSION=2    # bump when the warm-up recipe changes
# The cache lives in the repository's build dir unless told otherwise.
VMTEST_DIR=${VMTEST_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/vm}
SUITE=bookworm
MIRRORS=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)
GUEST_PACKAGES="systemd,systemd-sysv,dbus,udev,kmod,busybox-static,runc,procps,iproute2"
[ -n "${VMTEST_EXTRA_PACKAGES:-}" ] && GUEST_PACKAGES="$GUEST_PACKAGES,$VMTEST_EXTRA_PACKAGES"
# kernel module subtrees copied into the guest (the whole set is ~400 MB)
MODULE_DIRS="arch block crypto fs lib mm net drivers/virtio drivers/block drivers/char
  drivers/md drivers/net/ipvlan drivers/net/vxlan drivers/net/wireguard
  drivers/net/bonding drivers/net/team drivers/vhost drivers/net/*.ko"

die() { echo "run-in-guest: $*" >&2; exit 125; }
log() { echo "run-in-guest: $*" >&2; }

# ---------------------------------------------------------------- host tools
ensure_host_tools() {
  local need=()
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  command -v qemu-img >/dev/null || need+=(qemu-utils)
  command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
  command -v cpio >/dev/null || need+=(cpio)
  command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
  command -v python3 >/dev/null || need+=(python3)
  [ ${#need[@]} -eq 0 ] && return 0
  log "installing host packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The machine ships qemu-utils 10.0 from bookworm-backports; bookworm's own
  # qemu-system-x86 (7.2) would make apt REMOVE it. Take qemu from backports
  # too (a private sources list + lists dir: the host's apt config is untouched).
  if [[ " ${need[*]} " == *" qemu-"* ]]; then
    local a="$VMTEST_DIR/apt"
    mkdir -p "$a/lists/partial" "$a/archives/partial"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$a/bpo.list"
    local o=(-o "Dir::Etc::sourcelist=$a/bpo.list" -o "Dir::State::lists=$a/lists"
             -o "Dir::Cache::archives=$a/archives" -o APT::Sandbox::User=root)
    if apt-get "${o[@]}" -o DPkg::Lock::Timeout=900 update -qq >&2 &&
       apt-get "${o[@]}" -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends -t bookworm-backports \
         qemu-system-x86 qemu-utils >&2; then
      need=("${need[@]/qemu-system-x86}"); need=("${need[@]/qemu-utils}")
    fi
  fi
  apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
  # shellcheck disable=SC2068
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends ${need[@]} >&2
}

image_key() {
  printf '%s\n' "$IMAGE_VERSION" "$SUITE" "$GUEST_PACKAGES" "$MODULE_DIRS" | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------- image build
build_image() {
  local out=$1 b="$VMTEST_DIR/build.$$"
  local t0=$SECONDS
  rm -rf "$b"; mkdir -p "$b"
  # shellcheck disable=SC2064
  trap "rm -rf '$b'" RETURN

  # 1. kernel: the package linux-image-amd64 points at, unpacked, never installed
  apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq >&2
  local kpkg kver
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$kpkg" ] || die "cannot resolve linux-image-amd64"
  kver=${kpkg#linux-image-}
  log "build: kernel $kpkg"
  (cd "$b" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg" >&2)
  dpkg-deb -x "$b"/"$kpkg"_*.deb "$b/kernel"

  # 2. rootfs
  log "build: mmdebstrap $SUITE ($GUEST_PACKAGES)"
  mmdebstrap --mode=root --variant=minbase --include="$GUEST_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$SUITE" "$b/rootfs" "${MIRRORS[@]}" >"$b/mmdebstrap.log" 2>&1 \
    || { tail -30 "$b/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
  local r="$b/rootfs"

  # 3. kernel modules subset + depmod (inside the rootfs: no host kmod needed)
  local ksrc="$b/kernel/lib/modules/$kver" kdst="$r/lib/modules/$kver"
  mkdir -p "$kdst/kernel"
  cp "$ksrc"/modules.order "$ksrc"/modules.builtin* "$kdst/"
  (cd "$ksrc/kernel" && for d in $MODULE_DIRS; do
     [ -e "$d" ] && cp -a --parents "$d" "$kdst/kernel/"; done)
  chroot "$r" depmod -a "$kver"
  printf '9pnet_virtio\n9p\n' > "$r/etc/modules-load.d/vmtest.conf"

  # 4. guest configuration
  echo vmtest > "$r/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 vmtest\n' > "$r/etc/hosts"
  echo 0123456789abcdef0123456789abcdef > "$r/etc/machine-id"  # fixed: no first-boot logic
  echo '/dev/vda / ext4 rw,noatime 0 0' > "$r/etc/fstab"
  cat > "$r/usr/local/sbin/vmtest-run" <<'EOF'
#!/bin/bash
# Runs the host's command: 9p share vmtest_in -> /payload, results -> 9p share vmtest_ctl.
if grep -qw vmtest.warm=1 /proc/cmdline; then
  # saved-VM mode: the host snapshots us while we block here; after a restore
  # it sends "go EPOCH SEED" on ttyS1 (repeatedly, until it reads ACK)
  stty -F /dev/ttyS1 raw -echo
  exec 3<>/dev/ttyS1
  echo READY >&3
  while read -r -u 3 w epoch seed; do
    [ "$w" = go ] && [[ $epoch =~ ^[0-9]+$ ]] && [ ${#seed} -eq 64 ] && break
  done
  date -s "@$epoch" > /dev/null
  echo "$seed" > /dev/urandom
  echo ACK >&3
  exec 3>&-
fi
ctl=/run/vmtest/ctl in=/run/vmtest/in
mkdir -p "$ctl" "$in"
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none vmtest_ctl "$ctl"; then
  echo "vmtest: cannot mount ctl share" > /dev/console; systemctl poweroff --force --force; fi
opts=trans=virtio,version=9p2000.L,msize=262144,ro
{
  rm -rf /payload && mkdir -p /payload &&
  if [ "$(cat "$ctl/mode" 2>/dev/null)" = mount ]; then   # no copy: the share itself, read-only
    mount -t 9p -o "$opts,cache=loose" vmtest_in /payload
  else
    mount -t 9p -o "$opts" vmtest_in "$in" && cp -a "$in/." /payload/ && umount "$in"
  fi
} > "$ctl/setup.log" 2>&1 || { echo 125 > "$ctl/rc"; sync; systemctl poweroff --force --force; }
cd /payload
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 TERM=dumb bash "$ctl/cmd.sh" > "$ctl/stdout" 2> "$ctl/stderr" < /dev/null
echo $? > "$ctl/rc.tmp" && mv "$ctl/rc.tmp" "$ctl/rc"
sync
systemctl poweroff --force --force
EOF
  chmod 755 "$r/usr/local/sbin/vmtest-run"
  # boot straight to basic.target + our service (no multi-user: no logind,
  # gettys, utmp, timers); logind etc. still start on demand over D-Bus
  cat > "$r/etc/systemd/system/vmtest.target" <<'EOF'
[Unit]
Description=vmtest: basic system + the command
Requires=basic.target
Wants=vmtest.service dbus.socket
After=basic.target
AllowIsolate=yes
EOF
  cat > "$r/etc/systemd/system/vmtest.service" <<'EOF'
[Unit]
Description=run the run-in-guest.sh command
After=basic.target dbus.socket
Wants=dbus.socket
[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/usr/local/sbin/vmtest-run
StandardOutput=journal+console
StandardError=journal+console
EOF
  ln -sf vmtest.target "$r/etc/systemd/system/default.target"
  mkdir -p "$r/etc/systemd/system-generators" "$r/etc/systemd/journald.conf.d"
  for g in cryptsetup gpt-auto hibernate-resume integritysetup rc-local run \
           system-update sysv veritysetup getty; do
    ln -sf /dev/null "$r/etc/systemd/system-generators/systemd-$g-generator"
  done
  printf '[Journal]\nStorage=volatile\n' > "$r/etc/systemd/journald.conf.d/vmtest.conf"
  # no udev coldplug (devtmpfs has the nodes; saves ~1 s under TCG); udevd
  # itself still runs and handles hotplug events
  chroot "$r" systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
    e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer e2scrub_reap.service \
    getty.target serial-getty@ttyS0.service systemd-pstore.service \
    modprobe@drm.service modprobe@efi_pstore.service systemd-firstboot.service \
    systemd-repart.service systemd-pcrphase.service systemd-pcrphase-sysinit.service \
    systemd-binfmt.service proc-sys-fs-binfmt_misc.automount systemd-random-seed.service \
    systemd-update-utmp.service systemd-journal-flush.service systemd-udev-trigger.service \
    systemd-remount-fs.service systemd-sysusers.service >/dev/null 2>&1
  rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/*

  # 5. tiny initrd: busybox + virtio/ext4 modules; mounts /dev/vda, switch_root
  local i="$b/initrd"
  mkdir -p "$i"/{bin,dev,proc,sys,newroot,mod}
  cp "$r/bin/busybox" "$i/bin/busybox"
  local m mods=""
  for m in virtio_pci virtio_blk crc32c_generic ext4; do
    mods="$mods $(chroot "$r" modprobe -S "$kver" --show-depends "$m" | awk '$1=="insmod"{print $2}')"
  done
  : > "$i/modules"
  for m in $mods; do
    grep -qx "$(basename "$m")" "$i/modules" && continue
    cp "$r$m" "$i/mod/"; basename "$m" >> "$i/modules"
  done
  cat > "$i/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules); do insmod /mod/$m 2>/dev/null; done
n=0; while [ ! -b /dev/vda ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done
if ! mount -t ext4 -o rw,noatime /dev/vda /newroot; then
  echo "initrd: cannot mount /dev/vda"; poweroff -f; fi
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
EOF
  chmod 755 "$i/init"
  (cd "$i" && find . | cpio -o -H newc --quiet | gzip -1) > "$b/initrd.img"

  # 6. kernel as an uncompressed ELF: qemu boots it via PVH, skipping the
  #    in-guest xz decompression (~5 s under TCG); falls back to the bzImage
  cp "$b/kernel/boot/vmlinuz-$kver" "$b/vmlinuz"
  python3 - "$b/vmlinuz" "$b/vmlinux" <<'EOF' || rm -f "$b/vmlinux"
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
if i < 0: sys.exit(1)
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[i:])
if out[:4] != b'\x7fELF': sys.exit(1)
open(sys.argv[2], 'wb').write(out)
EOF

  # 7. ext4 image straight from the directory (no loop mount, no root needed)
  log "build: mkfs.ext4 -d"
  mkfs.ext4 -q -F -L vmroot -d "$r" "$b/rootfs.img" 3G >&2
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  mv "$b/rootfs.img" "$b/initrd.img" "$b/vmlinuz" "$out.tmp/"
  [ -f "$b/vmlinux" ] && mv "$b/vmlinux" "$out.tmp/"
  echo "$kver" > "$out.tmp/kver"
  rm -rf "$out"; mv "$out.tmp" "$out"
  log "build: image done in $((SECONDS - t0))s ($(du -sh "$out" | cut -f1) on disk)"
}

# ---------------------------------------------------------------- qemu
# vm_args DIR DISK PAYLOAD APPEND -> array QARGS (device set identical for
# warm-up and restore: migration needs that)
vm_args() {
  local dir=$1 disk=$2 payload=$3 append=$4
  QARGS=(-nodefaults -no-user-config -M q35 "${ACCEL_ARGS[@]}"
    -smp "${VMTEST_SMP:-2}" -m "${VMTEST_MEM:-1024}" -display none -no-reboot
    -serial "file:$dir/console.log" -chardev "pipe,id=s1,path=$dir/s1" -serial chardev:s1
    -kernel "$KERNEL" -initrd "$IMG/initrd.img" -append "$append"
    -drive "$disk"
    -virtfs "local,path=$payload,mount_tag=vmtest_in,security_model=none,readonly=on"
    -virtfs "local,path=$dir/ctl,mount_tag=vmtest_ctl,security_model=none"
    -device "vmgenid,guid=$(cat /proc/sys/kernel/random/uuid)")
}

# build_warm DIR: boot once, wait for the guest's READY, save the VM to DIR/state
build_warm() {
  local out=$1 w="$1.tmp" t0=$SECONDS
  log "warm-up: booting once to save a ready VM"
  rm -rf "$w"; mkdir -p "$w/ctl" "$w/empty"
  qemu-img create -q -f qcow2 -b "$IMG/rootfs.img" -F raw "$w/disk.qcow2"
  mkfifo "$w/s1.in" "$w/s1.out" "$w/mon.in" "$w/mon.out"
  vm_args "$w" "file=$w/disk.qcow2,format=qcow2,if=virtio,cache=writeback" "$w/empty" "$APPEND_WARM"
  timeout -k 5 300 qemu-system-x86_64 "${QARGS[@]}" \
    -chardev "pipe,id=mon,path=$w/mon" -mon chardev=mon,mode=readline > "$w/qemu.log" 2>&1 &
  local qpid=$! line="" rd mo mi ok=0
  # FIFOs opened read-write: never blocks, whatever qemu does
  exec {rd}<>"$w/s1.out" {mo}<>"$w/mon.out" {mi}<>"$w/mon.in"
  while kill -0 "$qpid" 2>/dev/null; do
    if read -t 1 -r -u "$rd" line && [[ $line == *READY* ]]; then ok=1; break; fi
  done
  if [ $ok = 1 ]; then
    printf '%s\n' 'migrate_set_parameter max-bandwidth 100G' \
      "migrate file:$w/state" 'info migrate' 'quit' >&"$mi"
  fi
  wait "$qpid" || true
  local mon="" l
  while read -t 0.5 -r -u "$mo" l; do mon+="$l"$'\n'; done
  exec {rd}<&- {mo}<&- {mi}>&-
  if [ $ok = 1 ] && grep -qi 'status: *completed' <<<"$mon" && [ -s "$w/state" ]; then
    rm -f "$w"/s1.* "$w"/mon.*; rm -rf "$w/ctl" "$w/empty"
    rm -rf "$out"; mv "$w" "$out"
    for d in "$IMG"/warm-*; do [ "$d" = "$out" ] || rm -rf "$d"; done
    log "warm-up: saved in $((SECONDS - t0))s ($(du -sh "$out" | cut -f1))"
  else
    log "warm-up failed (will cold-boot); qemu log: $(tail -3 "$w/qemu.log" 2>/dev/null)"
    rm -rf "$w"; return 1
  fi
}

# ---------------------------------------------------------------- main
if [ "${1:-}" = --deps ]; then   # only install the host tools (make vm-deps)
  [ "$(id -u)" = 0 ] || die "must run as root to install packages"
  mkdir -p "$VMTEST_DIR"; ensure_host_tools; exit 0
fi
[ $# -eq 2 ] || { echo "usage: $0 PAYLOAD_DIR 'command' | $0 --deps" >&2; exit 2; }
PAYLOAD=$(realpath "$1"); CMD=$2
[ -d "$PAYLOAD" ] || die "not a directory: $1"
[ "$(id -u)" = 0 ] || die "must run as root (image build uses chroot; 9p passthrough)"

mkdir -p "$VMTEST_DIR/runs"
ensure_host_tools
IMG="$VMTEST_DIR/image-$(image_key)"

accel=${VMTEST_ACCEL:-auto}
if [ "$accel" = auto ]; then
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; else accel=tcg; fi
fi
case $accel in
  kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
  tcg) ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
  *) die "VMTEST_ACCEL must be auto, kvm or tcg" ;;
esac
APPEND="console=ttyS0 root=/dev/vda rw quiet panic=-1 fsck.mode=skip
 systemd.unified_cgroup_hierarchy=1 systemd.getty_auto=0 systemd.show_status=0
 mitigations=off random.trust_cpu=on tsc=reliable ${VMTEST_APPEND:-}"
APPEND=$(echo $APPEND)
APPEND_WARM="$APPEND vmtest.warm=1"
WARM="$IMG/warm-$(printf '%s\n' "$WARM_VERSION" "$(qemu-system-x86_64 --version | head -1)" \
  "${ACCEL_ARGS[*]}" "${VMTEST_SMP:-2}" "${VMTEST_MEM:-1024}" "$APPEND_WARM" | sha256sum | cut -c1-12)"

(
  flock 9
  if [ ! -f "$IMG/rootfs.img" ] || [ "${VMTEST_REBUILD:-0}" = 1 ]; then
    rm -rf "$IMG"; build_image "$IMG"
    # drop images of older recipes (a running qemu keeps its open files)
    for d in "$VMTEST_DIR"/image-*; do [ "$d" = "$IMG" ] || rm -rf "$d"; done
  fi
  KERNEL="$IMG/vmlinux"; [ -f "$KERNEL" ] || KERNEL="$IMG/vmlinuz"
  if [ "${VMTEST_WARM:-1}" != 0 ] && [ ! -f "$WARM/state" ]; then build_warm "$WARM" || true; fi
) 9>"$VMTEST_DIR/.build.lock"
KERNEL="$IMG/vmlinux"; [ -f "$KERNEL" ] || KERNEL="$IMG/vmlinuz"

RUN=$(mktemp -d "$VMTEST_DIR/runs/run.XXXXXX")
[ "${VMTEST_KEEP:-0}" = 1 ] || trap 'rm -rf "$RUN"' EXIT
mkdir -p "$RUN/ctl"
printf '%s\n' "$CMD" > "$RUN/ctl/cmd.sh"
echo "${VMTEST_PAYLOAD:-copy}" > "$RUN/ctl/mode"
mkfifo "$RUN/s1.in" "$RUN/s1.out"

run_vm() {  # run_vm warm|cold -> sets QRC, ACKED
  QRC=0; ACKED=0
  if [ "$1" = warm ]; then
    vm_args "$RUN" "file=$WARM/disk.qcow2,format=qcow2,if=virtio,snapshot=on,cache=unsafe" \
      "$PAYLOAD" "$APPEND_WARM"
    QARGS+=(-incoming "file:$WARM/state")
  else
    vm_args "$RUN" "file=$IMG/rootfs.img,format=raw,if=virtio,snapshot=on,cache=unsafe" \
      "$PAYLOAD" "$APPEND"
  fi
  timeout -k 5 "${VMTEST_TIMEOUT:-900}" qemu-system-x86_64 "${QARGS[@]}" > "$RUN/qemu.log" 2>&1 &
  local qpid=$! rd wr line seed n=0
  if [ "$1" = warm ]; then
    exec {rd}<>"$RUN/s1.out" {wr}<>"$RUN/s1.in"
    seed=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
    # a line sent before the restore has finished may be lost: resend until ACK
    while kill -0 "$qpid" 2>/dev/null && [ $((n += 1)) -le 300 ]; do
      echo "go $(date +%s) $seed" >&"$wr"
      if read -t 0.2 -r -u "$rd" line && [[ $line == *ACK* ]]; then ACKED=1; break; fi
    done
    exec {rd}<&- {wr}>&-
    # no ACK within ~60 s: the restore is broken; kill it (caller cold-boots)
    [ "$ACKED" = 1 ] || kill "$qpid" 2>/dev/null || true
  fi
  wait "$qpid" || QRC=$?
}

mode=cold; [ "${VMTEST_WARM:-1}" != 0 ] && [ -f "$WARM/state" ] && mode=warm
run_vm "$mode"
if [ "$mode" = warm ] && [ ! -f "$RUN/ctl/rc" ] && [ "$ACKED" = 0 ]; then
  log "restoring the saved VM failed ($(tail -2 "$RUN/qemu.log" | tr '\n' ' ')); dropping it, cold-booting"
  rm -rf "$WARM"
  run_vm cold
fi
cp "$RUN/console.log" "$VMTEST_DIR/last-console.log" 2>/dev/null || true

if [ ! -f "$RUN/ctl/rc" ]; then
  {
    echo "run-in-guest: guest gave no exit status (qemu rc=$QRC; 124 = timeout)"
    cat "$RUN/qemu.log"; cat "$RUN/ctl/setup.log" 2>/dev/null
    echo "--- last console lines ($VMTEST_DIR/last-console.log):"; tail -40 "$RUN/console.log"
  } >&2
  exit 125
fi
[ -s "$RUN/ctl/setup.log" ] && cat "$RUN/ctl/setup.log" >&2
cat "$RUN/ctl/stdout"
cat "$RUN/ctl/stderr" >&2
exit "$(cat "$RUN/ctl/rc")"
