#!/bin/bash
# bench/containers.sh: berthctl's container path side by side with podman
# (runc, --network none, private root) and docker (Debian's dockerd with
# private dirs, --bridge none), in one run, on the same busybox image:
#   run --rm busybox true     berthctl (berth), berthctl (runc), podman, docker
#   exec CONTAINER true       berthctl (berth) vs podman
#   idle supervisor RSS       berthctl-supervise vs conmon (VmHWM, same sleep container)
#   100 x run -d              cost per container for the first 10 and for all 100
#   ps -a with 100 containers
# Report: build/bench/containers.md (BENCH_OUT overrides); ratios against podman/docker.
#
# Environment: BENCH_RUNS (hyperfine runs per command, default 10),
#   BENCH_DOCKER=0 skips docker, BERTHCTL / BERTH (default target/release/…).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
[ "$(id -u)" = 0 ] || { echo "bench/containers.sh: needs root" >&2; exit 1; }
export LC_ALL=C
BERTHCTL=${BERTHCTL:-$repo/target/release/berthctl}
BERTH=${BERTH:-$repo/target/release/berth}
RUNS=${BENCH_RUNS:-10}
OUT=${BENCH_OUT:-$repo/build/bench}
IMAGES=${BERTH_TEST_IMAGES:-$repo/build/images}
DOCKER_ON=${BENCH_DOCKER:-1}
for tool in hyperfine podman python3; do
	command -v "$tool" >/dev/null || { echo "bench/containers.sh: $tool is missing (make bench-deps)" >&2; exit 1; }
done
for f in "$BERTHCTL" "$(dirname "$BERTHCTL")/berthctl-supervise" "$BERTH" "$IMAGES/busybox.docker.tar"; do
	[ -e "$f" ] || { echo "bench/containers.sh: $f is missing (make build test-images)" >&2; exit 1; }
done
mkdir -p "$OUT"
W=$(mktemp -d /tmp/berth-bench-ctr.XXXXXX)
RAW=$OUT/containers-raw
rm -rf "$RAW" && mkdir -p "$RAW"
REPORT=$OUT/containers.md

BCTL=("$BERTHCTL" --data-root "$W/bctl" --runroot "$W/bctl-run" --runtime "$BERTH")
BCTL_RUNC=("$BERTHCTL" --data-root "$W/bctl" --runroot "$W/bctl-run" --runtime runc)
hn=$(ulimit -Hn); hu=$(ulimit -Hu)
[ "$hn" = unlimited ] && hn=1048576
{ [ "$hu" = unlimited ] || [ "$hu" -gt 32768 ]; } && hu=32768
mkdir -p "$W/podman-run/tmp" "$W/podman-net"
cat >"$W/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=$hu:$hu"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
[network]
network_config_dir = "$W/podman-net"
CONF
export CONTAINERS_CONF=$W/containers.conf
PODMAN=(podman --root "$W/podman" --runroot "$W/podman-run" --tmpdir "$W/podman-run/tmp" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend none --runtime runc)
DSOCK=$W/docker/docker.sock
DOCKER=(env DOCKER_CONFIG="$W/docker/client" docker -H "unix://$DSOCK")
dockerd_pid=

cleanup() {
	set +e
	"${BCTL[@]}" ps -aq --no-trunc 2>/dev/null | xargs -r "${BCTL[@]}" rm -f >/dev/null 2>&1
	"${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
	"${PODMAN[@]}" system reset -f >/dev/null 2>&1
	if [ -n "$dockerd_pid" ]; then
		"${DOCKER[@]}" rm -f $("${DOCKER[@]}" ps -aq) >/dev/null 2>&1
		kill "$dockerd_pid"
		for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
	fi
	grep -o " $W[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

echo "== loading busybox into berthctl, podman and (BENCH_DOCKER=1) docker" >&2
"${BCTL[@]}" load -i "$IMAGES/busybox.docker.tar" >/dev/null
"${PODMAN[@]}" load -q -i "$IMAGES/busybox.docker.tar" >/dev/null
if [ "$DOCKER_ON" = 1 ]; then
	mkdir -p "$W/docker/client" && echo '{}' >"$W/docker/daemon.json"
	dockerd --config-file "$W/docker/daemon.json" --data-root "$W/docker/data" --exec-root "$W/docker/exec" \
		--pidfile "$W/docker/docker.pid" -H "unix://$DSOCK" --bridge none --iptables=false --ip6tables=false \
		--ip-forward=false --ip-masq=false --exec-opt native.cgroupdriver=cgroupfs >"$W/docker/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 300); do "${DOCKER[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
	"${DOCKER[@]}" load -q -i "$IMAGES/busybox.docker.tar" >/dev/null
fi
IMG=busybox:latest

# hyperfine, no shell; mean and median in ms as "mean median".
hf() { # hf NAME COMMAND...
	local name=$1; shift
	hyperfine -N -w 2 -r "$RUNS" --export-json "$RAW/$name.json" "$(printf '%q ' "$@")" >>"$RAW/hyperfine.log" 2>&1
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f" % (r["mean"]*1e3, r["median"]*1e3))' "$RAW/$name.json"
}
ratio() { python3 -c 'import sys; print("%.2f×" % (float(sys.argv[1])/float(sys.argv[2])))' "$1" "$2"; }

echo "== run --rm busybox true" >&2
read -r b_mean b_med < <(hf run_berthctl "${BCTL[@]}" run --rm --network none $IMG true)
read -r r_mean r_med < <(hf run_berthctl_runc "${BCTL_RUNC[@]}" run --rm --network none $IMG true)
read -r p_mean p_med < <(hf run_podman "${PODMAN[@]}" run --rm --network none $IMG true)
if [ "$DOCKER_ON" = 1 ]; then
	read -r d_mean d_med < <(hf run_docker "${DOCKER[@]}" run --rm --network none $IMG true)
fi

echo "== exec" >&2
"${BCTL[@]}" run -d --name bench-exec --network none $IMG sleep 100000 >/dev/null
"${PODMAN[@]}" run -d --name bench-exec --network none $IMG sleep 100000 >/dev/null
read -r be_mean be_med < <(hf exec_berthctl "${BCTL[@]}" exec bench-exec true)
read -r pe_mean pe_med < <(hf exec_podman "${PODMAN[@]}" exec bench-exec true)

echo "== idle supervisor RSS" >&2
ppid_of() { awk '{print $4}' "/proc/$1/stat"; }
cpid=$("${BCTL[@]}" inspect -f '{{.State.Pid}}' bench-exec)
sup=$(ppid_of "$cpid")
sup_rss=$(awk '/VmHWM/{print $2}' "/proc/$sup/status")
sup_comm=$(cat "/proc/$sup/comm")
conmon=$("${PODMAN[@]}" inspect -f '{{.State.ConmonPid}}' bench-exec)
conmon_rss=$(awk '/VmHWM/{print $2}' "/proc/$conmon/status")
"${BCTL[@]}" rm -f bench-exec >/dev/null
"${PODMAN[@]}" rm -f -t 0 bench-exec >/dev/null

echo "== 100 x run -d, ps -a" >&2
t0=$(date +%s%N)
for i in $(seq 1 10); do "${BCTL[@]}" run -d --network none $IMG true >/dev/null; done
t10=$(date +%s%N)
for i in $(seq 11 100); do "${BCTL[@]}" run -d --network none $IMG true >/dev/null; done
t100=$(date +%s%N)
per10=$(python3 -c "print('%.1f' % (($t10-$t0)/10/1e6))")
per100=$(python3 -c "print('%.1f' % (($t100-$t0)/100/1e6))")
last90=$(python3 -c "print('%.1f' % (($t100-$t10)/90/1e6))")
read -r ps_mean ps_med < <(hf ps_100 "${BCTL[@]}" ps -a)
n=$("${BCTL[@]}" ps -aq | wc -l)

{
	echo "# berthctl containers, side by side ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each)"
	echo
	echo "| measure | berthctl | other | ratio (mean / median) |"
	echo "|---|---|---|---|"
	echo "| run --rm busybox true, berth | $b_mean ms (median $b_med) | podman (runc) $p_mean ms (median $p_med) | $(ratio "$b_mean" "$p_mean") / $(ratio "$b_med" "$p_med") |"
	[ "$DOCKER_ON" = 1 ] && echo "| run --rm busybox true, berth | $b_mean ms (median $b_med) | docker (runc) $d_mean ms (median $d_med) | $(ratio "$b_mean" "$d_mean") / $(ratio "$b_med" "$d_med") |"
	echo "| run --rm busybox true, runc | $r_mean ms (median $r_med) | podman (runc) $p_mean ms (median $p_med) | $(ratio "$r_mean" "$p_mean") / $(ratio "$r_med" "$p_med") |"
	echo "| exec true | $be_mean ms (median $be_med) | podman exec $pe_mean ms (median $pe_med) | $(ratio "$be_mean" "$pe_mean") / $(ratio "$be_med" "$pe_med") |"
	echo "| idle supervisor peak RSS (VmHWM) | $sup_comm $sup_rss kB | conmon $conmon_rss kB | $(ratio "$sup_rss" "$conmon_rss") |"
	echo "| run -d busybox true, per container | first 10: $per10 ms, all 100: $per100 ms (containers 11–100: $last90 ms) | | $(ratio "$last90" "$per10") (11–100 vs 1–10) |"
	echo "| ps -a with $n containers | $ps_mean ms (median $ps_med) | | |"
} >"$REPORT"
cat "$REPORT"
