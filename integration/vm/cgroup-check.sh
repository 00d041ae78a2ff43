#!/bin/bash
# Runs inside the guest (pure cgroup v2, systemd as PID 1), from /payload:
#   berth          the freshly built binary
#   rootfs/        busybox rootfs shared by every bundle
#   bundles/NAME/  config.json per scenario (bundles.py)
# Part 1 drives the cgroupfs driver, part 2 --systemd-cgroup. Each check prints
# "ok" or "FAIL"; the last line is "N passed, M failed", and the exit status is
# non-zero when anything failed. Every berth call costs 1-2 s under emulation,
# so checks share containers where they can.
set -u
cd /payload
B=/payload/berth
ROOT=/run/berth-vm
CG=/sys/fs/cgroup
PARENT=berth-vm
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1${2:+: $2}"; }
# eq DESC ACTUAL EXPECTED
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }
# has DESC HAYSTACK NEEDLE
has() { case $2 in *"$3"*) ok "$1" ;; *) bad "$1" "'$2' lacks '$3'" ;; esac; }
berth() { "$B" --root "$ROOT" "$@"; }
rd() { cat "$1" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
bundle() { echo "/payload/bundles/$1"; }
# wait_for N CMD...: retry up to N times, 0.2 s apart (processes settle slowly under TCG)
wait_for() { local n=$1; shift; while ! "$@" 2>/dev/null; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.2; done; }
start() { # start NAME [berth global flags...]
  local name=$1; shift
  # Output to a file, not $(...): the container inherits create's stdout and
  # would hold a pipe open for as long as it runs.
  if berth "$@" create --bundle "$(bundle "$name")" "$name" > "/tmp/$name.out" 2>&1 &&
     berth "$@" start "$name"; then
    return 0
  fi
  bad "$name: create and start" "$(cat "/tmp/$name.out")"; return 1
}

echo "guest: $(uname -r), $(stat -fc %T $CG), systemd $(systemctl --version | head -1 | cut -d' ' -f2)"
# The root disk's device numbers for the blockIO rules.
read -r VDA_MAJOR VDA_MINOR < <(tr ':' ' ' < /sys/block/vda/dev)
sed -i "s/999001/$VDA_MAJOR/g; s/999002/$VDA_MINOR/g" bundles/*/config.json

# ---------------------------------------------------------------- cgroupfs on v2
echo "== cgroupfs driver on cgroup v2"
if start limits; then
  d=$CG/$PARENT/limits
  eq "memory.max" "$(rd $d/memory.max)" 67108864
  eq "memory.low (reservation)" "$(rd $d/memory.low)" 33554432
  eq "memory.swap.max (swap - limit)" "$(rd $d/memory.swap.max)" 33554432
  eq "pids.max" "$(rd $d/pids.max)" 20
  eq "cpu.weight (shares 512)" "$(rd $d/cpu.weight)" 20
  eq "cpu.max (quota period)" "$(rd $d/cpu.max)" "50000 100000"
  eq "cpu.max.burst" "$(rd $d/cpu.max.burst)" 10000
  eq "cpu.idle" "$(rd $d/cpu.idle)" 0
  eq "cpuset.cpus" "$(rd $d/cpuset.cpus)" 0
  eq "cpuset.mems" "$(rd $d/cpuset.mems)" 0
  has "io.max rbps and wiops" "$(rd $d/io.max)" "$VDA_MAJOR:$VDA_MINOR rbps=1048576 wbps=max riops=max wiops=300"
  if [ -e $d/io.bfq.weight ]; then has "io.bfq.weight (blkio 500)" "$(rd $d/io.bfq.weight)" "default 500"
  else has "io.weight (blkio 500)" "$(rd $d/io.weight)" "default 4950"; fi
  eq "hugetlb.2MB.max" "$(rd $d/hugetlb.2MB.max)" 4194304
  eq "unified memory.oom.group" "$(rd $d/memory.oom.group)" 1
  eq "unified memory.high" "$(rd $d/memory.high)" 100663296
  pid=$(berth state limits | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
  eq "init is in the container's cgroup" "$(cut -d: -f3 /proc/$pid/cgroup)" "/$PARENT/limits"
  inside=$(berth exec limits sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max' 2>/dev/null | tr '\n' ' ')
  eq "inside: cgroup namespace root, limits visible" "$inside" "0::/ 67108864 20 50000 100000 "
  berth delete --force limits
  [ ! -e $d ] && ok "delete --force leaves no cgroup" || bad "delete --force leaves no cgroup" "$d exists"
fi

if start devices; then
  out=$(berth exec devices sh -c 'mknod /tmp/d1 c 99 1; mknod /tmp/d2 c 99 2; head -c1 /dev/null; echo null=$?;
        cat /tmp/d1 2>&1; cat /tmp/d2 2>&1' 2>/dev/null | tr '\n' ' ')
  has "devices: default /dev/null allowed" "$out" "null=0"
  has "devices: allowed c 99:1 reaches the driver" "$out" "'/tmp/d1': No such device or address"
  has "devices: denied c 99:2 cannot be opened (eBPF)" "$out" "'/tmp/d2': Operation not permitted"
  printf '%s' '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 99, "minor": 2, "access": "rw"}]}' > /tmp/dev.json
  if berth update -r /tmp/dev.json devices; then
    out=$(berth exec devices sh -c 'cat /tmp/d1 2>&1; cat /tmp/d2 2>&1' 2>/dev/null | tr '\n' ' ')
    has "update devices: c 99:1 now denied" "$out" "'/tmp/d1': Operation not permitted"
    has "update devices: c 99:2 now allowed" "$out" "'/tmp/d2': No such device or address"
  else bad "update -r devices"; fi
  berth delete --force devices
fi

if start pause; then
  d=$CG/$PARENT/pause
  if berth pause pause; then
    eq "pause: cgroup.freeze" "$(rd $d/cgroup.freeze)" 1
    has "pause: cgroup.events frozen" "$(rd $d/cgroup.events)" "frozen 1"
    has "pause: state paused" "$(berth state pause)" '"status": "paused"'
    berth resume pause
    has "resume: cgroup.events thawed" "$(rd $d/cgroup.events)" "frozen 0"
    has "resume: state running" "$(berth state pause)" '"status": "running"'
  else bad "pause"; fi
  berth kill pause KILL
  wait_for 50 sh -c "berth state pause | grep -q stopped"
  berth delete pause
  [ ! -e $d ] && ok "delete of a stopped container leaves no cgroup" || bad "delete leaves no cgroup" "$d exists"
fi

if start update; then
  d=$CG/$PARENT/update
  if berth update --memory 128m --pids-limit 30 --cpu-quota 20000 --cpu-period 50000 --cpu-share 2048 update; then
    eq "update: memory.max" "$(rd $d/memory.max)" 134217728
    eq "update: pids.max" "$(rd $d/pids.max)" 30
    eq "update: cpu.max" "$(rd $d/cpu.max)" "20000 50000"
    eq "update: cpu.weight (shares 2048)" "$(rd $d/cpu.weight)" 79
  else bad "update flags"; fi
  printf '%s' '{"pids": {"limit": 40}}' > /tmp/res.json
  berth update -r /tmp/res.json update
  eq "update -r: pids.max" "$(rd $d/pids.max)" 40
  eq "update -r keeps memory.max" "$(rd $d/memory.max)" 134217728
  has "events --stats: memory limit" "$(berth events --stats update)" '"limit":134217728'
  berth delete --force update
fi

# OOM: the kill is reported by memory.events and as an event.
if start oom; then
  timeout 60 "$B" --root "$ROOT" events --interval 1s oom > /tmp/oom.events 2>&1 &
  epid=$!
  wait_for 250 grep -q '"type":"oom"' /tmp/oom.events
  kill "$epid" 2>/dev/null; wait "$epid" 2>/dev/null
  has "oom: memory.events oom_kill" "$(rd $CG/$PARENT/oom/memory.events)" "oom_kill 1"
  has "oom: events reports it" "$(cat /tmp/oom.events)" '{"type":"oom","id":"oom"}'
  berth delete --force oom
fi

berth create --bundle "$(bundle swappiness)" swappiness > /tmp/swappiness.out 2>&1
out=$(cat /tmp/swappiness.out)
has "a value v2 cannot apply is an error naming the field" "$out" "linux.resources.memory.swappiness"
[ ! -e $CG/$PARENT/swappiness ] && ok "failed create leaves no cgroup" || bad "failed create leaves no cgroup"

rmdir $CG/$PARENT 2>/dev/null
[ ! -e $CG/$PARENT ] && ok "no cgroup left under /$PARENT" || bad "no cgroup left" "$(find $CG/$PARENT -type d)"

# ---------------------------------------------------------------- systemd
echo "== --systemd-cgroup"
unit=berth-sd1.scope
d=$CG/system.slice/$unit
if start sd --systemd-cgroup; then
  eq "systemd: scope is active" "$(systemctl is-active $unit)" active
  eq "systemd: MemoryMax property" "$(systemctl show -P MemoryMax $unit)" 67108864
  eq "systemd: TasksMax property" "$(systemctl show -P TasksMax $unit)" 20
  eq "systemd: CPUQuotaPerSecUSec" "$(systemctl show -P CPUQuotaPerSecUSec $unit)" 500ms
  eq "systemd: Delegate" "$(systemctl show -P Delegate $unit)" yes
  eq "systemd: memory.max" "$(rd $d/memory.max)" 67108864
  eq "systemd: pids.max" "$(rd $d/pids.max)" 20
  eq "systemd: cpu.max" "$(rd $d/cpu.max)" "50000 100000"
  eq "systemd: cpu.weight" "$(rd $d/cpu.weight)" 39
  eq "systemd: cpuset.cpus" "$(rd $d/cpuset.cpus)" 0
  pid=$(berth state sd | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
  eq "systemd: init in the scope" "$(cut -d: -f3 /proc/$pid/cgroup)" "/system.slice/$unit"
  eq "systemd: inside sees memory.max" "$(berth exec sd cat /sys/fs/cgroup/memory.max 2>/dev/null)" 67108864
  out=$(berth exec sd sh -c 'mknod /tmp/s1 c 99 1; mknod /tmp/s2 c 99 2; cat /tmp/s1 2>&1; cat /tmp/s2 2>&1' 2>/dev/null | tr '\n' ' ')
  has "systemd: devices allowed" "$out" "'/tmp/s1': No such device or address"
  has "systemd: devices denied" "$out" "'/tmp/s2': Operation not permitted"
  if berth --systemd-cgroup update --memory 128m --pids-limit 30 sd; then
    eq "systemd update: MemoryMax" "$(systemctl show -P MemoryMax $unit)" 134217728
    eq "systemd update: memory.max" "$(rd $d/memory.max)" 134217728
    eq "systemd update: TasksMax" "$(systemctl show -P TasksMax $unit)" 30
  else bad "systemd update"; fi
  berth --systemd-cgroup pause sd && has "systemd: pause" "$(rd $d/cgroup.events)" "frozen 1"
  berth --systemd-cgroup resume sd && has "systemd: resume" "$(rd $d/cgroup.events)" "frozen 0"
  berth --systemd-cgroup delete --force sd
  state=$(systemctl is-active $unit 2>&1)
  [ "$state" != active ] && ok "systemd: delete stops the scope ($state)" || bad "systemd: delete stops the scope"
  [ ! -e $d ] && ok "systemd: delete leaves no cgroup" || bad "systemd: delete leaves no cgroup" "$d exists"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
