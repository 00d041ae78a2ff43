#!/bin/bash
# berthctl's networking side by side with podman (both on netavark), inside a
# network and mount namespace this script makes (loopback only; nothing in the
# host's network namespace):
#   1. `run -d -p 8080:80 busybox httpd` until the published port answers 200
#      on 127.0.0.1 (podman vs berthctl), median of ROUNDS;
#   2. `run --rm busybox true` on a user network vs `--network none` (berthctl),
#      median of ROUNDS: what a network costs a container.
# Usage: bench/network.sh IMAGES_DIR [ROUNDS]   (IMAGES_DIR: integration/registry/images.sh's output)
# Needs: target/release/berthctl and berth, podman, netavark, curl.
set -eu
IMAGES=$(cd "$1" && pwd)
ROUNDS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${BENCH_NETNS:-}" ]; then
    exec env BENCH_NETNS=1 unshare --net --mount --propagation private "$0" "$@"
fi
ip link set lo up
mount -t tmpfs tmpfs /run
W=$(mktemp -d /var/tmp/berth-netbench.XXXXXX)
trap 'rm -rf "$W" 2>/dev/null || true' EXIT
B="$ROOT/target/release/berthctl --data-root $W/b --runroot /run/berthctl-bench --runtime $ROOT/target/release/berth"
hn=$(ulimit -Hn); hu=$(ulimit -Hu); [ "$hu" = unlimited ] || [ "$hu" -gt 32768 ] && hu=32768
P="podman --root $W/p --runroot /run/podman-bench --network-backend netavark --cgroup-manager cgroupfs --events-backend file --runtime runc"
LAYER=$(jq -r '.layers[0].digest' "$IMAGES/oci/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="busybox") | .digest' "$IMAGES/oci/index.json" | cut -d: -f2)" | cut -d: -f2)
$B import --change 'CMD ["sh"]' "$IMAGES/oci/blobs/sha256/$LAYER" busybox >/dev/null
$P load -q -i "$IMAGES/busybox.oci.tar" >/dev/null
PIMG=$($P images --format '{{.Repository}}:{{.Tag}}' | head -1)

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
until_200() { until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/hostname)" = 200 ]; do sleep 0.005; done; }

publish() { # $1: label, rest: the run command prefix
    label=$1; shift
    for _ in $(seq "$ROUNDS"); do
        t0=$(now)
        "$@" run -d --name web -p 8080:80 $RUN_EXTRA "$IMG" httpd -f -p 80 -h /etc >/dev/null
        until_200
        t1=$(now)
        "$@" rm -f web >/dev/null 2>&1
        echo $(( (t1 - t0) / 1000000 ))
    done | median | sed "s/^/$label run -d -p until HTTP 200 (ms, median of $ROUNDS): /"
}
IMG=$PIMG RUN_EXTRA="--ulimit nofile=$hn:$hn --ulimit nproc=$hu:$hu" publish podman $P
IMG=busybox RUN_EXTRA= publish berthctl $B

$B network create benchnet >/dev/null
cost() { # $1: network
    for _ in $(seq "$ROUNDS"); do
        t0=$(now); $B run --rm --network "$1" busybox true; t1=$(now)
        echo $(( (t1 - t0) / 1000000 ))
    done | median | sed "s/^/berthctl run --rm --network $1 (ms, median of $ROUNDS): /"
}
cost none
cost benchnet
$B network rm benchnet >/dev/null
