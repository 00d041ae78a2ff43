#!/usr/bin/env bash
# integration/podman/run.sh RUNTIME -- podman (with conmon) against RUNTIME
#
# Drives Debian's podman 4.3 with `podman --runtime RUNTIME` against a binary
# with runc's CLI. Nothing global is used: every call passes private --root,
# --runroot, --tmpdir (under /var/tmp/berth-it/podman and /run/berth-it/podman),
# --cgroup-manager=cgroupfs and --events-backend=file, and CONTAINERS_CONF,
# CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF point at files written
# there. Containers use --network none. The image is the busybox rootfs tar,
# `podman import`ed. Prints one PASS/FAIL line per step, then "N passed, M
# failed"; exits 1 when a step failed, 2 when the harness could not run.
#
# podman passes no --root to the runtime (its default root is used) and reads
# the runtime's --log file as JSON. The bounding set here may lack
# CAP_SYS_RESOURCE, so no process can raise a hard rlimit: podman's default
# ulimits (nofile/nproc 1048576) would fail with any runtime, and
# containers.conf sets default_ulimits to the current hard limits.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT_NAME=podman
. "$HERE/../lib/common.sh"

PD=$IT_DIR/podman       # root/, *.conf, net/, events.log
PRUN=$IT_RUN/podman     # runroot/, tmp/
PIMG=localhost/berth-it/busybox:latest

podman_setup() {   # podman_setup RUNTIME -> sets PODMAN=(...) and exports env
  local rt=$1 hn hu
  mkdir -p "$PD/root" "$PD/net" "$PRUN/runroot" "$PRUN/tmp"
  hn=$(ulimit -Hn); hu=$(ulimit -Hu)
  [ "$hn" = unlimited ] && hn=1048576
  { [ "$hu" = unlimited ] || [ "$hu" -gt 32768 ]; } && hu=32768
  cat > "$PD/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=$hu:$hu"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
tmp_dir = "$PRUN/tmp"
volume_path = "$PD/root/volumes"
[network]
network_config_dir = "$PD/net"
CONF
  cat > "$PD/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$PD/root"
runroot = "$PRUN/runroot"
CONF
  cat > "$PD/registries.conf" <<CONF
unqualified-search-registries = []
CONF
  export CONTAINERS_CONF=$PD/containers.conf
  export CONTAINERS_STORAGE_CONF=$PD/storage.conf
  export CONTAINERS_REGISTRIES_CONF=$PD/registries.conf
  PODMAN=(podman --root "$PD/root" --runroot "$PRUN/runroot"
          --tmpdir "$PRUN/tmp" --cgroup-manager=cgroupfs
          --events-backend=file --network-config-dir "$PD/net"
          --runtime "$rt")
}

podman_image() {   # import the busybox rootfs once
  "${PODMAN[@]}" image exists "$PIMG" && return 0
  local imgdir; imgdir=$(it_images) || it_die "image build failed"
  "${PODMAN[@]}" import -q \
    -c 'CMD ["/bin/sh"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$imgdir/rootfs.tar" "$PIMG" >/dev/null || it_die "podman import failed"
}

podman_cleanup() {
  local c
  for c in $("${PODMAN[@]}" ps -aq 2>/dev/null); do
    "${PODMAN[@]}" rm -f -t 0 "$c" >/dev/null 2>&1
  done
  # podman's cgroupfs parent (libpod_parent/{conmon,libpod-ID}), if empty
  it_rmdir_cgroups libpod_parent/conmon libpod_parent
}

[ $# -eq 1 ] && [ "${1#-}" = "$1" ] || it_usage
it_need_root
RUNTIME=$(it_runtime_arg "$1")
it_need_pkgs podman:podman conmon:conmon script:bsdutils jq:jq
podman_setup "$RUNTIME"
it_on_exit podman_cleanup
podman_image
podman_cleanup
P=("${PODMAN[@]}")
RUN=("${P[@]}" run --network none)
C=it-p1
it_log "podman $(podman --version | awk '{print $3}'), runtime $RUNTIME"
inspect() { "${P[@]}" inspect --format "$2" "$1"; }

# 1. one-shot containers
it_step "run --rm true" "${RUN[@]}" --rm "$PIMG" /bin/true
it_step "run --rm echo (stdout)" expect_out hello-podman "${RUN[@]}" --rm "$PIMG" /bin/echo hello-podman
it_step "run --rm exit code 7" expect_rc 7 "${RUN[@]}" --rm "$PIMG" /bin/sh -c 'exit 7'
it_step "run --rm false: exit code 1" expect_rc 1 "${RUN[@]}" --rm "$PIMG" /bin/false
it_step "run missing command: exit 127" expect_rc 127 "${RUN[@]}" --rm "$PIMG" /no/such/command
it_step "run -it (script pty)" expect_tty 5 "$(printf '%q ' "${RUN[@]}" -it --rm "$PIMG" /bin/sh)"
it_step "run --memory 64m (cgroup)" expect_out 67108864 \
  "${RUN[@]}" --rm --memory 64m "$PIMG" /bin/sh -c "$IT_MEMF"
it_step "run --pids-limit 42 (cgroup)" expect_out 42 \
  "${RUN[@]}" --rm --pids-limit 42 "$PIMG" /bin/sh -c "$IT_PIDSF"

# 2. detached; pid 1 is sh with a TERM trap so `stop` ends it with status 0
it_step "run -d" "${RUN[@]}" -d --name "$C" "$PIMG" \
  /bin/sh -c 'trap "echo got-term; exit 0" TERM; echo started; sleep 300 & wait $!'
it_step "ps shows Up" bash -c '"$@" ps --filter name=^'"$C"'$ --format "{{.Status}}" | grep -q "^Up"' _ "${P[@]}"
it_step "inspect running + runtime" expect_out "running true $RUNTIME" \
  "${P[@]}" inspect --format '{{.State.Status}} {{.State.Running}} {{.OCIRuntime}}' "$C"
it_step "exec echo" expect_out exec-ok "${P[@]}" exec "$C" /bin/echo exec-ok
it_step "exec joins pid ns" expect_out sh "${P[@]}" exec "$C" /bin/cat /proc/1/comm
it_step "exec exit code 3" expect_rc 3 "${P[@]}" exec "$C" /bin/sh -c 'exit 3'
it_step "exec --user --workdir --env" expect_out "65534 /tmp x" \
  "${P[@]}" exec --user 65534 --workdir /tmp --env IT_VAR=x "$C" /bin/sh -c 'echo $(id -u) $(pwd) $IT_VAR'
it_step "exec -it (script pty)" expect_tty 4 "$(printf '%q ' "${P[@]}" exec -it "$C" /bin/sh)"
it_step "logs" expect_out started "${P[@]}" logs "$C"
it_step "top" expect_grep 'sleep 300' "${P[@]}" top "$C"
it_step "stats --no-stream" expect_grep "^$C [0-9.]+%" \
  "${P[@]}" stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}}' "$C"
it_step "pause" "${P[@]}" pause "$C"
it_step "inspect paused" expect_out paused inspect "$C" '{{.State.Status}}'
it_step "ps --filter status=paused" expect_out "$C" \
  "${P[@]}" ps --filter status=paused --format '{{.Names}}'
it_step "unpause" "${P[@]}" unpause "$C"
it_step "inspect running again" expect_out running inspect "$C" '{{.State.Status}}'
it_step "exec after unpause" "${P[@]}" exec "$C" /bin/true
it_step "stop (SIGTERM handled)" "${P[@]}" stop -t 20 "$C"
it_step "inspect exited 0" expect_out "exited 0" inspect "$C" '{{.State.Status}} {{.State.ExitCode}}'
it_step "logs after stop" expect_out "started
got-term" "${P[@]}" logs "$C"
it_step "start again (restart)" "${P[@]}" start "$C"
it_step "kill -s KILL + wait = 137" expect_out 137 bash -c '"$@" kill -s KILL '"$C"' >/dev/null && "$@" wait '"$C"'' _ "${P[@]}"
it_step "rm" "${P[@]}" rm "$C"

# 3. rm -f of a running container
it_step "run -d sleep" "${RUN[@]}" -d --name it-p2 "$PIMG" /bin/sleep 300
it_step "rm -f running" "${P[@]}" rm -f -t 0 it-p2

# 4. leftovers
it_step "no leftover containers" bash -c 'l=$("$@" ps -aq); [ -z "$l" ] || { echo "left: $l"; exit 1; }' _ "${P[@]}"
it_step "no leftover cgroups" bash -c '
  l=$(ls -d /sys/fs/cgroup/*/libpod_parent/libpod-* 2>/dev/null); [ -z "$l" ] || { echo "cgroups left: $l"; exit 1; }'

it_finish
