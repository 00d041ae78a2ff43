#!/bin/bash
# bench/pull.sh: pulling the two-layer Debian+nginx test image from a local
# docker-registry, side by side:
#   berthctl pull                     (fresh data root each run)
#   podman pull                       (private root/runroot, overlay driver, fresh each run)
#   skopeo copy + umoci unpack        (fresh OCI layout and bundle each run)
# then a second pull with every layer present (berthctl and podman), and the
# peak RSS of a berthctl pull. Everything runs in a private mount namespace;
# the registry (integration/registry/registry.sh serve, a copy of the test
# images' storage) is stopped by its pid at the end. Report: $BENCH_OUT/pull.md.
#
# Environment: BERTHCTL (default target/release/berthctl), BENCH_PULL_RUNS=5,
# BENCH_OUT (default build/bench), BENCH_ONLY (runs only if it names "pull").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" pull "* ]]; then exit 0; fi
if [ -z "${BENCH_PULL_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "bench/pull.sh: needs root" >&2; exit 1; }
	export BENCH_PULL_INNER=1
	exec unshare -m --propagation private "$0" "$@"
fi

export LC_ALL=C
BERTHCTL=${BERTHCTL:-$repo/target/release/berthctl}
RUNS=${BENCH_PULL_RUNS:-5}
OUT=${BENCH_OUT:-$repo/build/bench}
for tool in hyperfine skopeo umoci podman python3 /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench/pull.sh: $tool is missing" >&2; exit 1; }
done
[ -x "$BERTHCTL" ] || { echo "bench/pull.sh: $BERTHCTL not built (make build)" >&2; exit 1; }
images=$("$repo/integration/registry/images.sh")
mkdir -p "$OUT"

W=$(mktemp -d /var/tmp/berth-bench-pull.XXXXXX)
cleanup() {
	set +e
	# The serving script stops its registry by pid on TERM.
	[ -n "${REGPID:-}" ] && kill -TERM "$REGPID" && wait "$REGPID" 2>/dev/null
	for m in $(findmnt -rn -o TARGET | grep "^$W" | sort -r); do umount -l "$m"; done
	rm -rf "$W"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG=127.0.0.1:$port
"$repo/integration/registry/registry.sh" serve --addr "$REG" --dir "$W/registry" \
	--from "$images/registry" </dev/null >/dev/null 2>&1 &
REGPID=$!
"$repo/integration/registry/registry.sh" wait "$REG" 30 || { echo "bench/pull.sh: registry did not start" >&2; exit 1; }
IMG=$REG/nginx:latest

BCTL="$BERTHCTL --data-root $W/bctl --runroot $W/bctl-run --runtime runc"
PODMAN="podman --root $W/podman --runroot $W/podman-run --storage-driver overlay --cgroup-manager cgroupfs --events-backend none"
# podman's overlay driver bind-mounts its home: undo it before removing.
RESET_PODMAN="umount -R $W/podman/overlay 2>/dev/null; rm -rf $W/podman $W/podman-run"

hyperfine -N --style basic --runs "$RUNS" --export-json "$OUT/pull.json" \
	--prepare "rm -rf $W/bctl $W/bctl-run" \
	--prepare "sh -c '$RESET_PODMAN'" \
	--prepare "rm -rf $W/layout $W/bundle" \
	-n "berthctl pull" "$BCTL pull -q $IMG" \
	-n "podman pull (overlay)" "$PODMAN pull -q --tls-verify=false $IMG" \
	-n "skopeo copy + umoci unpack" \
	"sh -c 'skopeo copy -q --src-tls-verify=false docker://$IMG oci:$W/layout:nginx && umoci unpack --image $W/layout:nginx $W/bundle'" \
	>"$W/first.txt"

# Second pull: every layer present (the stores of the last runs above).
hyperfine -N --style basic --runs "$((RUNS * 2))" --warmup 1 --export-json "$OUT/pull-again.json" \
	-n "berthctl pull (present)" "$BCTL pull -q $IMG" \
	-n "podman pull (present)" "$PODMAN pull -q --tls-verify=false $IMG" \
	>"$W/again.txt"

rss=()
for _ in 1 2 3; do
	rm -rf "$W/bctl" "$W/bctl-run"
	/usr/bin/time -o "$W/rss" -f %M $BCTL pull -q "$IMG" >/dev/null
	rss+=("$(tail -n1 "$W/rss")")
done
sh -c "$RESET_PODMAN"

python3 - "$OUT/pull.json" "$OUT/pull-again.json" "${rss[@]}" <<'PY' | tee "$OUT/pull.md"
import json, statistics, sys
first, again = (json.load(open(p))["results"] for p in sys.argv[1:3])
rss = [int(x) for x in sys.argv[3:]]
def row(r):
    t = [x * 1000 for x in r["times"]]
    return "| %s | %.0f ± %.0f | %.0f | %.0f…%.0f |" % (r["command"], statistics.mean(t), statistics.pstdev(t), statistics.median(t), min(t), max(t))
print("### pull + unpack of nginx (Debian minbase + nginx, 2 layers, 58 MB compressed) from a local registry\n")
print("| | mean ms | median ms | min…max |\n|---|---|---|---|")
for r in first + again:
    print(row(r))
m = {r["command"]: statistics.mean(r["times"]) for r in first + again}
b = m["berthctl pull"]
print()
print("- berthctl / podman pull: %.2f× (target ≤ 0.5×)" % (b / m["podman pull (overlay)"]))
print("- berthctl / skopeo copy + umoci unpack: %.2f× (target ≤ 1×)" % (b / m["skopeo copy + umoci unpack"]))
print("- second pull, layers present: berthctl %.0f ms (target ≤ 50 ms), podman %.0f ms" % (m["berthctl pull (present)"] * 1000, m["podman pull (present)"] * 1000))
print("- peak RSS of berthctl pull: %s MiB (target < 64 MiB)" % ", ".join("%.1f" % (k / 1024) for k in rss))
PY
