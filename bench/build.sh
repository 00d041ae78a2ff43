#!/bin/bash
# berthctl build side by side with docker build (Debian's dockerd with private
# dirs: the classic builder, and BuildKit when the client can drive it) and
# buildah bud, from the same busybox layer, RUN steps without a network:
#   1. a fully cached rebuild of a 10-step Dockerfile (median of ROUNDS);
#   2. a cold build (--no-cache) of a Dockerfile with three RUN steps.
# Everything runs in a private mount namespace; dockerd is stopped by its pid.
# Report: $BENCH_OUT/build.md.
#
# Environment: BENCH_BUILD_ROUNDS=5, BENCH_OUT (default build/bench), BENCH_ONLY
# (runs only if it names "build"), IMAGES (default build/images: make test-images).
# Needs: target/release/berthctl and berth, dockerd + docker, buildah (optional), jq.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" build "* ]]; then exit 0; fi
if [ -z "${BENCH_BUILD_INNER:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "bench/build.sh: needs root" >&2; exit 1; }
    export BENCH_BUILD_INNER=1
    exec unshare -m --propagation private "$0" "$@"
fi
IMAGES=$(cd "${IMAGES:-$ROOT/build/images}" && pwd)
ROUNDS=${BENCH_BUILD_ROUNDS:-5}
OUT=${BENCH_OUT:-$ROOT/build/bench}/build.md
mkdir -p "$(dirname "$OUT")"
W=$(mktemp -d /var/tmp/berth-buildbench.XXXXXX)
R=$(mktemp -d /run/berth-buildbench.XXXXXX)
DPID=
cleanup() {
    [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && while kill -0 "$DPID" 2>/dev/null; do sleep 0.1; done
    grep -o " $W[^ ]*\| $R[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$W" "$R" 2>/dev/null || true
}
trap cleanup EXIT

B="$ROOT/target/release/berthctl --data-root $W/b --runroot $R/b --runtime $ROOT/target/release/berth"
LAYER=$(jq -r '.layers[0].digest' "$IMAGES/oci/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="busybox") | .digest' "$IMAGES/oci/index.json" | cut -d: -f2)" | cut -d: -f2)
LAYER="$IMAGES/oci/blobs/sha256/$LAYER"
$B import --change 'CMD ["sh"]' "$LAYER" busybox >/dev/null

dockerd --data-root "$W/d" --exec-root "$R/d" --pidfile "$R/d.pid" -H "unix://$R/d.sock" \
    --bridge none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --exec-opt native.cgroupdriver=cgroupfs >"$W/dockerd.log" 2>&1 &
DPID=$!
D="docker -H unix://$R/d.sock"
# An empty client config: buildah checks that the auth file DOCKER_CONFIG names exists.
export DOCKER_CONFIG=$W/docker-config
mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json"
until $D version >/dev/null 2>&1; do sleep 0.2; done
$D import --change 'CMD ["sh"]' "$LAYER" busybox >/dev/null

BH=
if command -v buildah >/dev/null; then
    BH="buildah --root $W/bh --runroot $R/bh --storage-driver overlay"
    CID=$($BH from scratch)
    MNT=$($BH mount "$CID")
    tar -xzf "$LAYER" -C "$MNT"
    $BH umount "$CID" >/dev/null
    $BH config --cmd sh "$CID"
    $BH commit -q "$CID" localhost/busybox >/dev/null
    $BH rm "$CID" >/dev/null
fi

# The 10-step context (FROM counts as a step, as in docker's "Step N/10").
mkdir -p "$W/ten" "$W/cold"
echo one >"$W/ten/a.txt"
echo two >"$W/ten/b.txt"
cat >"$W/ten/Dockerfile" <<'DF'
ARG BASE=busybox
FROM $BASE
ENV APP=/app
RUN mkdir -p /app/data && echo made >/app/data/made
WORKDIR /app
COPY a.txt ./
RUN cat a.txt >copied-a
COPY b.txt ./
RUN cat b.txt >copied-b
LABEL bench=build
CMD ["cat", "/app/copied-a"]
DF
cat >"$W/cold/Dockerfile" <<'DF'
ARG BASE=busybox
FROM $BASE
RUN echo one >/one
RUN echo two >/two
RUN echo three >/three
DF

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_it() { # rounds, command…: the median in ms
    n=$1; shift
    for _ in $(seq "$n"); do
        t0=$(now); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }; t1=$(now)
        echo $(( (t1 - t0) / 1000000 ))
    done | median
}

declare -A CACHED COLD
run_tool() { # name, build command prefix (context dir appended)
    name=$1; shift
    "$@" "$W/ten" >"$W/$name.warmup.log" 2>&1 || {
        echo "$name: warm-up build failed:" >&2
        tail -n 5 "$W/$name.warmup.log" >&2
        return
    }
    CACHED[$name]=$(time_it "$ROUNDS" "$@" "$W/ten") || return
    COLD[$name]=$(time_it "$ROUNDS" "$@" --no-cache "$W/cold") || true
}
run_tool berthctl $B build -q --network none -t bench
run_tool docker-classic env DOCKER_BUILDKIT=0 $D build -q --network none -t bench
if DOCKER_BUILDKIT=1 $D build -q --network none "$W/cold" >/dev/null 2>&1; then
    run_tool docker-buildkit env DOCKER_BUILDKIT=1 $D build -q --network none -t bench
fi
[ -n "$BH" ] && run_tool buildah $BH bud -q --isolation oci --runtime runc --network none --build-arg BASE=localhost/busybox -t bench

{
    echo "# berthctl build vs docker build vs buildah bud ($(date -u +%Y-%m-%d), load $(cut -d' ' -f1 /proc/loadavg), median of $ROUNDS)"
    echo
    echo "| tool | cached rebuild, 10 steps (ms) | cold build, 3 RUN (ms) |"
    echo "|---|---|---|"
    for t in berthctl docker-classic docker-buildkit buildah; do
        [ -n "${CACHED[$t]:-}" ] && echo "| $t | ${CACHED[$t]} | ${COLD[$t]:-n/a} |"
    done
} | tee "$OUT"
