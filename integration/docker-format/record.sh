#!/bin/sh
# Record the docker CLI's output for the fixed objects of fake-api.py into
# ctl/src/format/rows/testdata/docker-cli.txt (the oracle of
# ctl/src/format/rows/oracle.rs). Needs the docker client and python3; talks
# only to its own unix socket in a temp dir, which it removes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../ctl/src/format/rows/testdata/docker-cli.txt"
dir=$(mktemp -d)
now=$(date +%s)
python3 "$here/fake-api.py" "$dir/api.sock" "$now" &
pid=$!
trap 'kill "$pid"; rm -rf "$dir"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$dir/api.sock" ] && break; sleep 0.2; done
export DOCKER_HOST="unix://$dir/api.sock" DOCKER_CONFIG="$dir/config"
run() {
    printf '### docker'; printf ' %s' "$@"; printf '\n'
    docker "$@" 2>&1 || true
}
{
    echo "### now $now"
    echo "### client $(docker version -f '{{.Client.Version}}' 2>/dev/null || true)"
    run images
    run images --digests
    run images --no-trunc
    run images -q
    run images --format json
    run images --format 'table {{.Repository}}\t{{.Digest}}'
    run images --format '{{.ID}}: {{.CreatedAt}} {{.Containers}} {{.VirtualSize}} {{.SharedSize}} {{.UniqueSize}}'
    run images --format '{{upper .Repository | printf "%-10s"}}|{{title "hello world"}}|{{pad .Tag 1 1}}|{{truncate .ID 4}}|{{join (split "a,b" ",") "+"}}'
    run ps -a
    run ps -a --no-trunc
    run ps -a -s
    run ps -a --format json
    run ps -a --format 'table {{.Names}}\t{{.Label "com.example.tier"}}\t{{.Labels}}\t{{.Mounts}}\t{{.Networks}}\t{{.LocalVolumes}}\t{{.State}}'
    run ps -a --format '{{json .Command}} {{.CreatedAt}} {{.Size}}'
    run volume ls
    run volume ls --format json
    run network ls
    run network ls --format json
    run network ls --format '{{.CreatedAt}}|{{.IPv6}}|{{.Labels}}'
    run system df
    run system df -v
    run system df --format json
    run system df --format '{{.Type}}: {{.Reclaimable}}'
} > "$out"
echo "recorded $out"
