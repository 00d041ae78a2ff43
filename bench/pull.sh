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

# First pull: interleaved rounds, each tool in turn (the order rotates), every
# store removed and the file system synced (its discards and others' dirty
# pages written) before each timed run, so all start equal; the report takes
# medians and per-round ratios, which a disk that slows down over the run (a
# shared host) does not skew. berthctl runs with --debug: its per-layer split.
export BCTL PODMAN RESET_PODMAN W IMG
python3 - "$RUNS" "$OUT/pull.json" <<'PY2'
import json, os, re, subprocess, sys, time
runs, out = int(sys.argv[1]), sys.argv[2]
W, IMG = os.environ["W"], os.environ["IMG"]
tools = {
    "berthctl pull": (f"rm -rf {W}/bctl {W}/bctl-run", f"{os.environ['BCTL']} --debug pull -q {IMG}"),
    "podman pull (overlay)": (os.environ["RESET_PODMAN"], f"{os.environ['PODMAN']} pull -q --tls-verify=false {IMG}"),
    "skopeo copy + umoci unpack": (f"rm -rf {W}/layout {W}/bundle",
        f"skopeo copy -q --src-tls-verify=false docker://{IMG} oci:{W}/layout:nginx && umoci unpack --image {W}/layout:nginx {W}/bundle"),
}
names = list(tools)
res = {n: [] for n in names}
splits = []
for r in range(runs):
    order = names[r % len(names):] + names[:r % len(names)]
    for n in order:
        reset, cmd = tools[n]
        subprocess.run(["sh", "-c", reset + "; sync -f " + W], check=False)
        t = time.monotonic()
        p = subprocess.run(["sh", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        dt = time.monotonic() - t
        if p.returncode != 0:
            sys.exit(f"bench/pull.sh: {n} failed: {p.stderr[-2000:]}")
        res[n].append(dt)
        if n == "berthctl pull":
            kv = lambda line: dict(re.findall(r"(\w+)=(\S+)", line))
            splits.append({"layers": [kv(l) for l in p.stderr.splitlines() if "layer applied" in l],
                           "commit": [kv(l) for l in p.stderr.splitlines() if "snapshots synced" in l]})
    print(f"round {r + 1}: " + ", ".join(f"{n} {res[n][-1]:.2f} s" for n in names), file=sys.stderr)
json.dump({"results": [{"command": n, "times": res[n]} for n in names], "splits": splits}, open(out, "w"))
PY2

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
doc = json.load(open(sys.argv[1]))
first, splits = doc["results"], doc["splits"]
again = json.load(open(sys.argv[2]))["results"]
rss = [int(x) for x in sys.argv[3:]]
def row(r):
    t = [x * 1000 for x in r["times"]]
    return "| %s | %.0f | %.0f ± %.0f | %.0f…%.0f |" % (r["command"], statistics.median(t), statistics.mean(t), statistics.pstdev(t), min(t), max(t))
print("### pull + unpack of nginx (Debian minbase + nginx, 2 layers, 58 MB compressed) from a local registry\n")
print("%d interleaved rounds (order rotating, stores removed and the file system synced before each run)\n" % len(first[0]["times"]))
print("| | median ms | mean ms | min…max |\n|---|---|---|---|")
for r in first + again:
    print(row(r))
t = {r["command"]: r["times"] for r in first + again}
med = {k: statistics.median(v) for k, v in t.items()}
b = t["berthctl pull"]
def ratio(other):
    per = [x / y for x, y in zip(b, t[other])]
    return "%.2f× by medians, per round median %.2f× (%s)" % (med["berthctl pull"] / med[other], statistics.median(per), " ".join("%.2f" % x for x in per))
print()
print("- berthctl / podman pull: %s (target ≤ 0.5×)" % ratio("podman pull (overlay)"))
print("- berthctl / skopeo copy + umoci unpack: %s (target ≤ 1×)" % ratio("skopeo copy + umoci unpack"))
print("- second pull, layers present: berthctl median %.0f ms (target ≤ 50 ms), podman %.0f ms" % (med["berthctl pull (present)"] * 1000, med["podman pull (present)"] * 1000))
print("- peak RSS of berthctl pull: %s MiB (target < 64 MiB)" % ", ".join("%.1f" % (k / 1024) for k in rss))
print("\nberthctl's split per round, largest layer (waiting on the network, decompressing and hashing, writing files; gunzip MB/s = compressed MB / decompress s, tar MB/s = uncompressed), then the one syncfs before the snapshots are committed:\n")
print("| round | total s | network s | decompress s | write s | gunzip MB/s (tar MB/s) | syncfs s |\n|---|---|---|---|---|---|---|")
for i, s in enumerate(splits):
    if not s["layers"]:
        continue
    big = max(s["layers"], key=lambda l: int(l.get("tar_bytes", 0)))
    g = lambda k: int(big.get(k, 0)) / 1000
    d = max(g("decompress_ms"), 0.001)
    sync = sum(int(c.get("syncfs_ms", 0)) for c in s["commit"]) / 1000
    print("| %d | %.2f | %.2f | %.2f | %.2f | %.0f (%.0f) | %.2f |" % (i + 1, b[i], g("source_ms"), g("decompress_ms"), g("write_ms"),
          int(big.get("blob_bytes", 0)) / 1e6 / d, int(big.get("tar_bytes", 0)) / 1e6 / d, sync))
PY
