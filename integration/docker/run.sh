#!/usr/bin/env bash
# integration/docker/run.sh RUNTIME -- docker (dockerd 20.10) against RUNTIME
#
# Starts a private dockerd with its own --data-root (/var/tmp/berth-it/docker),
# --exec-root, --pidfile and socket (/run/berth-it/docker), an empty config
# file, no bridge and no iptables (--bridge none --iptables=false
# --ip6tables=false --ip-forward=false --ip-masq=false), and RUNTIME added
# with --add-runtime and made the default. dockerd starts its own containerd
# under those dirs. The image is the busybox rootfs tar, `docker import`ed;
# containers use --network none. Prints one PASS/FAIL line per step, then "N
# passed, M failed"; exits 1 when a step failed, 2 when the harness could not
# run. dockerd is stopped by its pid on every exit.
#
# The runtime's name in docker is "berth" when the binary is called berth,
# else "it-<name>" ("runc" is taken by dockerd's built-in runtime).
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT_NAME=docker
. "$HERE/../lib/common.sh"

DD=$IT_DIR/docker       # data/, daemon.json, client/, dockerd.log
DRUN=$IT_RUN/docker     # exec/, docker.sock, docker.pid
SOCK=$DRUN/docker.sock
PIDF=$DRUN/docker.pid
DIMG=berth-it/busybox:latest

start_daemon() {   # start_daemon RUNTIME NAME
  mkdir -p "$DD/data" "$DD/client" "$DRUN/exec"
  echo '{}' > "$DD/daemon.json"
  : > "$DD/dockerd.log"
  # dockerd writes the pid file itself; ours is the one setsid started, which
  # is the same process (setsid execs when it is not a group leader).
  it_start_daemon "$DRUN/dockerd.started" "$DD/dockerd.log" dockerd \
    --config-file "$DD/daemon.json" --data-root "$DD/data" --exec-root "$DRUN/exec" \
    --pidfile "$PIDF" -H "unix://$SOCK" \
    --bridge none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --exec-opt native.cgroupdriver=cgroupfs \
    --add-runtime "$2=$1" --default-runtime "$2"
  if ! it_wait_for 60 docker version; then
    tail -n 20 "$DD/dockerd.log" >&2
    it_die "dockerd did not come up on $SOCK"
  fi
  docker image inspect "$DIMG" >/dev/null 2>&1 && return 0
  local imgdir; imgdir=$(it_images) || it_die "image build failed"
  docker import -c 'CMD ["/bin/sh"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$imgdir/rootfs.tar" "$DIMG" >/dev/null || it_die "docker import failed"
}

stop_daemon() {
  if [ -S "$SOCK" ]; then
    local c
    for c in $(docker ps -aq 2>/dev/null); do docker rm -f "$c" >/dev/null 2>&1; done
  fi
  it_stop_pid "$DRUN/dockerd.started" dockerd
  rm -f "$PIDF"
  # dockerd makes its data root a private bind mount of itself and undoes it
  # only on a clean shutdown
  if mountpoint -q "$DD/data"; then umount "$DD/data" || it_log "warning: cannot unmount $DD/data"; fi
  # empty dirs the shims of dockerd's containerd leave under the compiled-in
  # /run/containerd
  rmdir /run/containerd/s /run/containerd 2>/dev/null || true
  # dockerd's cgroupfs parent, if empty
  it_rmdir_cgroups docker
}

[ $# -eq 1 ] && [ "${1#-}" = "$1" ] || it_usage
it_need_root
RUNTIME=$(it_runtime_arg "$1")
it_need_pkgs dockerd:docker.io docker:docker.io script:bsdutils
NAME=$(basename "$RUNTIME")
[ "$NAME" = berth ] || NAME=it-$NAME
export DOCKER_HOST=unix://$SOCK DOCKER_CONFIG=$DD/client
# checked before the exit trap is set, which would stop that daemon
it_pid_ours "$DRUN/dockerd.started" dockerd && it_die "a berth-it dockerd is already running (pid $(cat "$DRUN/dockerd.started"))"
it_on_exit stop_daemon
start_daemon "$RUNTIME" "$NAME"
it_log "dockerd $(docker version --format '{{.Server.Version}}') up (pid $(cat "$DRUN/dockerd.started")), runtime $NAME=$RUNTIME"
RUN=(docker run --network none)
C=it-k1

# 1. the daemon knows the runtime
it_step "info: default runtime $NAME" expect_out "$NAME $RUNTIME" \
  docker info --format "{{.DefaultRuntime}} {{(index .Runtimes \"$NAME\").Path}}"

# 2. one-shot containers and their exit codes
it_step "run --rm echo (stdout)" expect_out hello-docker "${RUN[@]}" --rm "$DIMG" /bin/echo hello-docker
it_step "run exit code 7" expect_rc 7 "${RUN[@]}" --rm "$DIMG" /bin/sh -c 'exit 7'
it_step "run false: exit code 1" expect_rc 1 "${RUN[@]}" --rm "$DIMG" /bin/false
it_step "run missing command: exit 127" expect_rc 127 "${RUN[@]}" --rm "$DIMG" /no/such/command
it_step "run -it (script pty)" expect_tty 5 "$(printf '%q ' "${RUN[@]}" -it --rm "$DIMG" /bin/sh)"
it_step "run -t (pty, no stdin)" bash -c '
  out=$(script -qec "$1" /dev/null < /dev/null | tr -d "\r"); echo "$out"; printf "%s\n" "$out" | grep -qx "/dev/pts/[0-9]*"' _ \
  "$(printf '%q ' "${RUN[@]}" -t --rm "$DIMG" /bin/tty)"

# 3. options, each seen from inside
it_step "run --memory 64m" expect_out 67108864 "${RUN[@]}" --rm --memory 64m "$DIMG" /bin/sh -c "$IT_MEMF"
it_step "run --pids-limit 42" expect_out 42 "${RUN[@]}" --rm --pids-limit 42 "$DIMG" /bin/sh -c "$IT_PIDSF"
it_step "run --cpus 0.5" expect_out "50000 100000" "${RUN[@]}" --rm --cpus 0.5 "$DIMG" /bin/sh -c "$IT_CPUF"
it_step "run --read-only" expect_grep '^ro-ok$' "${RUN[@]}" --rm --read-only "$DIMG" \
  /bin/sh -c 'touch /probe 2>/dev/null && echo writable || echo ro-ok'
it_step "run --cap-drop ALL" expect_grep '^CapEff:[[:space:]]+0+$' "${RUN[@]}" --rm --cap-drop ALL "$DIMG" \
  /bin/grep ^CapEff /proc/self/status
it_step "run --user 65534:65534" expect_out "65534 65534" "${RUN[@]}" --rm --user 65534:65534 "$DIMG" \
  /bin/sh -c 'echo $(id -u) $(id -g)'
it_step "run --workdir /work/dir" expect_out /work/dir "${RUN[@]}" --rm --workdir /work/dir "$DIMG" /bin/pwd
it_step "run -e IT_VAR=x y" expect_out "x y" "${RUN[@]}" --rm -e 'IT_VAR=x y' "$DIMG" /bin/sh -c 'echo "$IT_VAR"'
it_step "run --tmpfs /scratch" expect_out "tmpfs ok" "${RUN[@]}" --rm --read-only --tmpfs /scratch "$DIMG" \
  /bin/sh -c 'echo $(awk "\$2==\"/scratch\"{print \$3}" /proc/mounts) $(touch /scratch/f && echo ok)'

# 4. a detached container through its life (update too); pid 1 is sh with traps (a pid 1
#    without a handler ignores SIGTERM)
it_step "run -d" "${RUN[@]}" -d --name "$C" "$DIMG" /bin/sh -c \
  'trap "echo got-term; exit 0" TERM; trap "echo got-usr1" USR1; echo started; while :; do sleep 300 & wait $!; done'
it_step "ps shows Up" expect_grep '^Up' docker ps --filter "name=^$C\$" --format '{{.Status}}'
it_step "inspect running + runtime" expect_out "running $NAME" \
  docker inspect --format '{{.State.Status}} {{.HostConfig.Runtime}}' "$C"
it_step "exec echo" expect_out exec-ok docker exec "$C" /bin/echo exec-ok
it_step "exec joins pid ns" expect_out sh docker exec "$C" /bin/cat /proc/1/comm
it_step "exec exit code 3" expect_rc 3 docker exec "$C" /bin/sh -c 'exit 3'
it_step "exec -it (script pty)" expect_tty 4 "$(printf '%q ' docker exec -it "$C" /bin/sh)"
it_step "logs" expect_out started docker logs "$C"
it_step "top" expect_grep 'sleep 300' docker top "$C"
it_step "stats --no-stream" expect_grep "^$C [0-9.]+% [0-9.]+[KMG]i?B / " \
  docker stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}}' "$C"
it_step "pause" docker pause "$C"
it_step "inspect paused" expect_out "paused true" docker inspect --format '{{.State.Status}} {{.State.Paused}}' "$C"
it_step "unpause" docker unpause "$C"
it_step "inspect running again" expect_out running docker inspect --format '{{.State.Status}}' "$C"
it_step "exec after unpause" docker exec "$C" /bin/true
it_step "update --memory --pids-limit" docker update --memory 48m --memory-swap 96m --pids-limit 77 "$C"
it_step "update seen inside" expect_out "50331648 77" docker exec "$C" /bin/sh -c "echo \$($IT_MEMF) \$($IT_PIDSF)"
# docker sends every field, 0 for those not asked for: they must stay as they are
it_step "update --cpus keeps the rest" docker update --cpus 0.5 "$C"
it_step "update seen inside again" expect_out "50331648 77 50000 100000" docker exec "$C" /bin/sh -c \
  "echo \$($IT_MEMF) \$($IT_PIDSF) \$($IT_CPUF)"
it_step "kill -s USR1 (trapped)" bash -c 'docker kill -s USR1 "$1" >/dev/null &&
  for i in $(seq 50); do docker logs "$1" 2>&1 | grep -qx got-usr1 && exit 0; sleep 0.1; done
  docker logs "$1"; exit 1' _ "$C"
it_step "stop (SIGTERM handled)" docker stop -t 20 "$C"
it_step "inspect exited 0" expect_out "exited 0" docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$C"
it_step "rm" docker rm "$C"

# 5. rm -f of a running container; kill -s KILL exit code
it_step "run -d sleep" "${RUN[@]}" -d --name it-k2 "$DIMG" /bin/sleep 300
it_step "rm -f running" docker rm -f it-k2
it_step "kill -s KILL + wait = 137" expect_out 137 bash -c \
  'docker run --network none -d --name it-k3 "$1" /bin/sleep 300 >/dev/null && docker kill -s KILL it-k3 >/dev/null && docker wait it-k3' _ "$DIMG"
it_step "rm stopped" docker rm it-k3

# 6. leftovers
it_step "no leftover containers" bash -c 'l=$(docker ps -aq); [ -z "$l" ] || { echo "left: $l"; exit 1; }'
it_step "no leftover cgroups" bash -c '
  l=$(find /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker -mindepth 1 -maxdepth 1 -type d 2>/dev/null); [ -z "$l" ] || { echo "cgroups left: $l"; exit 1; }'

it_finish
