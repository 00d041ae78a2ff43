#!/usr/bin/env bash
# integration/containerd/run.sh RUNTIME -- containerd (ctr) against RUNTIME
#
# Starts a private containerd (Debian's 1.6) with its own root, state, socket
# and config under /var/tmp/berth-it/containerd and /run/berth-it/containerd,
# imports a busybox OCI archive, and drives RUNTIME (a binary with runc's CLI)
# through the runc v2 shim with `ctr run --runc-binary RUNTIME --runc-root DIR`.
# Prints one PASS/FAIL line per step, then "N passed, M failed"; exits 1 when
# a step failed, 2 when the harness itself could not run. The daemon is
# stopped by its pid on every exit.
#
# Why --runc-binary: containerd 1.6 applies the config's runtime option
# BinaryName only to CRI requests; ctr sends runc.v2 Options{BinaryName, Root}
# with each container instead. The shim records them in the task's
# options.json and uses them for exec, kill, pause and delete too.
# containerd 1.6 still puts shim sockets under /run/containerd/s/.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT_NAME=containerd
. "$HERE/../lib/common.sh"

CD_DIR=$IT_DIR/containerd
CD_RUN=$IT_RUN/containerd
SOCK=$CD_RUN/containerd.sock
PIDF=$CD_RUN/containerd.pid
NS=berth-it
RT_ROOT=$CD_RUN/runtime-root     # the runtime's --root
IMG=$IT_IMAGE_NAME
CTR=(ctr -a "$SOCK" -n "$NS")

write_config() {   # write_config RUNTIME
  mkdir -p "$CD_DIR/root" "$CD_DIR/state" "$CD_RUN"
  cat > "$CD_DIR/config.toml" <<TOML
version = 2
root = "$CD_DIR/root"
state = "$CD_DIR/state"
oom_score = 0

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  level = "info"
[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    # no CAP_SYS_RESOURCE needed: never ask for an oom_score_adj below ours
    restrict_oom_score_adj = true
    disable_tcp_service = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        # what CRI clients (kubelet, crictl) would use; ctr ignores it
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "$1"
          Root = "$RT_ROOT"
          SystemdCgroup = false
TOML
}

start_daemon() {   # start_daemon RUNTIME
  write_config "$1"
  : > "$CD_DIR/containerd.log"
  it_start_daemon "$PIDF" "$CD_DIR/containerd.log" containerd --config "$CD_DIR/config.toml"
  if ! it_wait_for 30 ctr -a "$SOCK" version; then
    tail -n 20 "$CD_DIR/containerd.log" >&2
    it_die "containerd did not come up on $SOCK"
  fi
  local imgdir; imgdir=$(it_images) || it_die "image build failed"
  "${CTR[@]}" images import --no-unpack "$imgdir/busybox-oci.tar" >&2 \
    || it_die "ctr images import failed"
  "${CTR[@]}" images ls -q | grep -qx "$IMG" || it_die "image $IMG missing after import"
}

stop_daemon() {
  if [ -S "$SOCK" ]; then   # remove leftover containers (and their cgroups)
    local c
    for c in $("${CTR[@]}" task ls -q 2>/dev/null); do "${CTR[@]}" task kill -s KILL "$c" >/dev/null 2>&1; done
    sleep 0.3
    for c in $("${CTR[@]}" task ls -q 2>/dev/null); do "${CTR[@]}" task delete -f "$c" >/dev/null 2>&1; done
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do "${CTR[@]}" containers delete "$c" >/dev/null 2>&1; done
  fi
  it_stop_pid "$PIDF" containerd
  rm -f "$SOCK" "$SOCK.ttrpc"
  # empty dirs containerd 1.6 makes under its compiled-in /run/containerd
  rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null || true
  # the per-namespace parent cgroups the runtime made, if empty
  it_rmdir_cgroups "$NS"
}

[ $# -eq 1 ] && [ "${1#-}" = "$1" ] || it_usage
it_need_root
RUNTIME=$(it_runtime_arg "$1")
it_need_pkgs containerd:containerd ctr:containerd script:bsdutils jq:jq
# checked before the exit trap is set, which would stop that daemon
it_pid_ours "$PIDF" containerd && it_die "a berth-it containerd is already running (pid $(cat "$PIDF"))"
it_on_exit stop_daemon
start_daemon "$RUNTIME"
it_log "containerd $(containerd --version | awk '{print $3}') up (pid $(cat "$PIDF")), runtime $RUNTIME"
RTO=(--runc-binary "$RUNTIME" --runc-root "$RT_ROOT")
C=it-d1

state_is() {  # state_is CONTAINER STATE
  "${CTR[@]}" task ls | awk -v c="$1" -v s="$2" '$1==c && $3==s{f=1} END{exit !f}'
}

# 1. one-shot containers, --rm
it_step "run --rm true" "${CTR[@]}" run --rm "${RTO[@]}" "$IMG" it-t1 /bin/true
it_step "run --rm echo (stdout)" it_retry expect_out hello-ctr \
  "${CTR[@]}" run --rm "${RTO[@]}" "$IMG" it-t2 /bin/echo hello-ctr
it_step "run --rm exit code 7" expect_rc 7 \
  "${CTR[@]}" run --rm "${RTO[@]}" "$IMG" it-t3 /bin/sh -c 'exit 7'
# ctr's default spec has no /sys/fs/cgroup mount (CRI adds one); ask for it
it_step "run --memory-limit 64m (cgroup)" it_retry expect_out 67108864 \
  "${CTR[@]}" run --rm "${RTO[@]}" --memory-limit 67108864 \
  --mount type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev \
  "$IMG" it-t4 /bin/sh -c "$IT_MEMF"
it_step "run -t (script pty)" expect_tty 6 \
  "$(printf '%q ' "${CTR[@]}" run --rm -t "${RTO[@]}" "$IMG" it-t5 /bin/sh)"

# 2. detached container; pid 1 is sh with traps (a pid 1 without a handler
#    ignores SIGTERM, so a bare `sleep` would never stop on TERM)
it_step "run -d (sh pid 1)" "${CTR[@]}" run -d --null-io "${RTO[@]}" "$IMG" "$C" \
  /bin/sh -c 'trap "exit 0" TERM; trap "echo usr1 > /tmp/got-usr1" USR1; while :; do sleep 300 & wait $!; done'
it_step "task ls RUNNING" state_is "$C" RUNNING
it_step "options.json BinaryName" bash -c '
  f=$1/state/io.containerd.runtime.v2.task/$2/$3/options.json
  cat "$f"; jq -e --arg b "$4" ".binary_name == \$b" "$f" >/dev/null' _ \
  "$CD_DIR" "$NS" "$C" "$RUNTIME"
it_step "task exec" it_retry expect_out exec-ok "${CTR[@]}" task exec --exec-id e1 "$C" /bin/echo exec-ok
it_step "task exec joins pid ns" it_retry expect_out sh "${CTR[@]}" task exec --exec-id e2 "$C" /bin/cat /proc/1/comm
it_step "task exec exit code 3" expect_rc 3 "${CTR[@]}" task exec --exec-id e3 "$C" /bin/sh -c 'exit 3'
it_step "task exec -t (script pty)" expect_tty 4 \
  "$(printf '%q ' "${CTR[@]}" task exec -t --exec-id e4 "$C" /bin/sh)"
it_step "task ps" bash -c '
  out=$("$@" 2>&1); echo "$out"; [ "$(printf "%s\n" "$out" | grep -cE "^[0-9]+ ")" -ge 2 ]' _ \
  "${CTR[@]}" task ps "$C"
it_step "task metrics" expect_grep 'memory\.usage_in_bytes|memory\.usage' \
  "${CTR[@]}" task metrics "$C"
it_step "task pause" "${CTR[@]}" task pause "$C"
it_step "task ls PAUSED" state_is "$C" PAUSED
it_step "task resume" "${CTR[@]}" task resume "$C"
it_step "task ls RUNNING again" state_is "$C" RUNNING
it_step "exec after resume" "${CTR[@]}" task exec --exec-id e5 "$C" /bin/true
it_step "task kill -s SIGUSR1 (trapped)" bash -c '"$@" task kill -s SIGUSR1 '"$C"' &&
  for i in $(seq 50); do "$@" task exec --exec-id e6-$i '"$C"' /bin/cat /tmp/got-usr1 2>/dev/null && exit 0; sleep 0.1; done; exit 1' _ "${CTR[@]}"
it_step "task kill -s SIGTERM" "${CTR[@]}" task kill -s SIGTERM "$C"
it_step "STOPPED after SIGTERM" it_wait_for 15 state_is "$C" STOPPED
it_step "task delete (exit status 0)" "${CTR[@]}" task delete "$C"
it_step "container delete" "${CTR[@]}" containers delete "$C"

# 3. exit status reported by delete: one that exits by itself, one killed
it_step "run -d exits 9" "${CTR[@]}" run -d --null-io "${RTO[@]}" "$IMG" it-d2 /bin/sh -c 'exit 9'
it_step "STOPPED by itself" it_wait_for 15 state_is it-d2 STOPPED
it_step "task delete -> status 9" expect_grep "exit code 9\b" "${CTR[@]}" task delete it-d2
it_step "run -d sleep" "${CTR[@]}" run -d --null-io "${RTO[@]}" "$IMG" it-d3 /bin/sleep 300
it_step "task kill -s SIGKILL" "${CTR[@]}" task kill -s SIGKILL it-d3
it_step "STOPPED after SIGKILL" it_wait_for 15 state_is it-d3 STOPPED
it_step "task delete -> status 137" expect_grep "exit code 137\b" "${CTR[@]}" task delete it-d3
it_step "containers delete" "${CTR[@]}" containers delete it-d2 it-d3

# 4. nothing left: containers, runtime state, cgroups
it_step "no leftover" bash -c '
  l=$("${@:3}" containers ls -q); [ -z "$l" ] || { echo "containers left: $l"; exit 1; }
  l=$(ls -A "$1" 2>/dev/null); [ -z "$l" ] || { echo "runtime root left: $l"; exit 1; }
  l=$(ls -d /sys/fs/cgroup/*/"$2"/it-* /sys/fs/cgroup/"$2"/it-* 2>/dev/null); [ -z "$l" ] || { echo "cgroups left: $l"; exit 1; }' \
  _ "$RT_ROOT/$NS" "$NS" "${CTR[@]}"

it_finish
