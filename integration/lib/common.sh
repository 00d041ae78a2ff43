# integration/lib/common.sh -- sourced by integration/<client>/run.sh.
#
# What the client harnesses share: Debian packages, the busybox images (made
# from Debian's busybox-static, no registry), PASS/FAIL bookkeeping, waiting,
# and stopping what a harness started by its pid. Needs bash; the caller sets
# `set -u -o pipefail` itself and CLIENT_NAME before sourcing.
#
# Everything a harness writes lives under $IT_DIR/<client> (data) and
# $IT_RUN/<client> (sockets, pid files), never in a client's system default.

IT_DIR=${IT_DIR:-/var/tmp/berth-it}
IT_RUN=${IT_RUN:-/run/berth-it}
IT_IMAGE_NAME=${IT_IMAGE_NAME:-docker.io/berth-it/busybox:latest}
IT_BUSYBOX=${IT_BUSYBOX:-/bin/busybox}

it_log() { printf '%s: %s\n' "${CLIENT_NAME:-integration}" "$*" >&2; }
it_die() { it_log "error: $*"; exit 2; }

# it_usage -- print the script's header comment (lines 2.. up to the first
# non-comment line) and exit 2.
it_usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }

# it_runtime_arg PATH -> the absolute path of the runtime binary, or die.
it_runtime_arg() {
  local rt
  rt=$(readlink -f "$1") || it_die "runtime binary not found: $1"
  [ -x "$rt" ] && [ -f "$rt" ] || it_die "runtime binary is not an executable file: $1"
  printf '%s\n' "$rt"
}

it_need_root() { [ "$(id -u)" = 0 ] || it_die "must run as root (clients and runtimes need it)"; }

# it_need_pkgs CMD:PKG ... -- apt-get install the packages whose command is
# missing (PKG "-" means: CMD is itself a package name, check it with dpkg -s).
it_need_pkgs() {
  local need=() cp c p
  for cp in "$@"; do
    c=${cp%%:*}; p=${cp#*:}
    if [ "$p" = "-" ]; then dpkg -s "$c" >/dev/null 2>&1 || need+=("$c")
    else command -v "$c" >/dev/null 2>&1 || need+=("$p"); fi
  done
  [ ${#need[@]} -eq 0 ] && return 0
  it_log "installing Debian packages: ${need[*]}"
  local o=(-o DPkg::Lock::Timeout=600)
  DEBIAN_FRONTEND=noninteractive apt-get "${o[@]}" update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get "${o[@]}" install -y -qq \
    --no-install-recommends "${need[@]}" >&2
}

# ---------------------------------------------------------------- images
# it_images -> prints the cache dir that holds
#   rootfs.tar        busybox rootfs (bin/ with applet symlinks, etc/passwd with
#                     root and nobody, tmp/ ...): `docker import`, `podman import`
#   busybox-oci.tar   oci-archive of the same rootfs (one manifest, annotated
#                     io.containerd.image.name=$IT_IMAGE_NAME): `ctr images import`
# The cache key covers the busybox binary and the image name, so a new
# busybox-static rebuilds it; a finished build is marked by .complete.
it_images() {
  it_need_pkgs busybox-static:- umoci:umoci jq:jq
  local key dir tmp a r L
  key=$(printf 'v1 %s %s' "$IT_IMAGE_NAME" "$(sha256sum "$IT_BUSYBOX" | cut -c1-64)" \
        | sha256sum | cut -c1-12)
  dir=$IT_DIR/images/$key
  if [ -f "$dir/.complete" ]; then echo "$dir"; return 0; fi
  it_log "building busybox images in $dir"
  rm -rf "$dir"; mkdir -p "$dir"
  tmp=$(mktemp -d "$IT_DIR/images/tmp.XXXXXX")
  r=$tmp/rootfs
  mkdir -p "$r"; chmod 0755 "$r"
  mkdir -p "$r"/{bin,dev,proc,sys,etc,root,tmp,var/tmp}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  cp "$IT_BUSYBOX" "$r/bin/busybox"
  for a in $("$IT_BUSYBOX" --list); do
    [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' > "$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' > "$r/etc/group"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$dir/rootfs.tar" .

  # OCI image: umoci writes the blobs (sha256 digests), jq adds the name
  # annotations that `ctr images import` reads.
  L=$tmp/layout
  umoci init --layout "$L" >&2
  umoci new --image "$L:latest" >&2
  umoci raw add-layer --image "$L:latest" "$dir/rootfs.tar" >&2
  umoci config --image "$L:latest" --config.cmd /bin/sh \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.workingdir / >&2
  umoci gc --layout "$L" >&2
  jq --arg n "$IT_IMAGE_NAME" -c \
    '.manifests[0].annotations = {"io.containerd.image.name": $n,
                                  "org.opencontainers.image.ref.name": "latest"}' \
    "$L/index.json" > "$tmp/index.json"
  mv "$tmp/index.json" "$L/index.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner -C "$L" -cf "$dir/busybox-oci.tar" .
  rm -rf "$tmp"
  touch "$dir/.complete"
  echo "$dir"
}

# ------------------------------------------------------------ bookkeeping
IT_PASS=0; IT_FAIL=0; IT_OUT=""; IT_T0=$(date +%s)
mkdir -p "$IT_DIR"
IT_RETRIED=$(mktemp "$IT_DIR/retried.XXXXXX")
# it_step NAME CMD... -- run CMD; its output goes to $IT_OUT and is shown
# (last lines) when the step fails.
it_step() {
  local name=$1; shift
  local t0 t1 rc
  t0=$(date +%s%N)
  IT_OUT=$("$@" 2>&1); rc=$?
  t1=$(date +%s%N)
  it_result "$name" "$rc" "$(( (t1 - t0) / 1000000 ))ms"
  return $rc
}
# it_result NAME RC [NOTE]
it_result() {
  if [ "$2" -eq 0 ]; then
    IT_PASS=$((IT_PASS + 1)); printf 'PASS %-34s %s\n' "$1" "${3:-}"
  else
    IT_FAIL=$((IT_FAIL + 1)); printf 'FAIL %-34s %s (rc=%s)\n' "$1" "${3:-}" "$2"
    [ -n "$IT_OUT" ] && printf '%s\n' "$IT_OUT" | tail -n 8 | sed 's/^/     | /'
  fi
  IT_OUT=""
  return 0
}
# it_finish -- print the closing line and exit: 0 when every step passed, 1
# otherwise.
it_finish() {
  it_log "took $(( $(date +%s) - IT_T0 ))s"
  if [ -s "$IT_RETRIED" ]; then
    echo "note: $(wc -l < "$IT_RETRIED") step(s) passed only on a second try"
  fi
  rm -f "$IT_RETRIED"
  printf '%d passed, %d failed\n' "$IT_PASS" "$IT_FAIL"
  [ "$IT_FAIL" -eq 0 ]
  exit $?
}

# ------------------------------------------------------------ step helpers
# expect_out WANT CMD... -- CMD's stdout+stderr must be exactly WANT
expect_out() {
  local want=$1 out; shift
  out=$("$@" 2>&1); printf '%s\n' "$out"; [ "$out" = "$want" ]
}
# expect_grep REGEX CMD... -- some line of CMD's output matches REGEX (grep -E)
expect_grep() {
  local re=$1 out; shift
  out=$("$@" 2>&1); printf '%s\n' "$out"; printf '%s\n' "$out" | grep -qE -- "$re"
}
# expect_rc WANT CMD... -- CMD must exit with WANT
expect_rc() {
  local want=$1 rc; shift
  "$@"; rc=$?; [ "$rc" -eq "$want" ] || { echo "exit code $rc, want $want"; return 1; }
}
# it_retry CHECK ARGS... -- run the check; when it fails, show its output and
# run it once more. A pass on the second try is counted in $IT_RETRIED and
# reported by it_finish, so it is never silent. Only for what the clients
# themselves lose now and then, with runc as much as with berth:
#  * ctr: `ctr run` and `ctr task exec` of a short process sometimes print
#    nothing (1 in 40 to 60 with runc on a busy machine; containerd 1.6's
#    fifo copy, not the runtime);
#  * pty sessions under heavy load: `podman exec -it` once showed nothing from
#    the container, not even the shell's banner or the pty's echo.
it_retry() {
  "$@" && return 0
  echo "-- second try"
  "$@" || return 1
  echo "$*" >> "$IT_RETRIED"
}

# expect_tty RC CMDLINE -- run CMDLINE (one shell string) under `script`, so it
# gets a pty as its stdin/stdout, feed it "tty; [ -t 0 ] && echo is-a-tty;
# exit RC" and check that the container saw a pty and exited with RC (with
# one recorded second try, see it_retry).
expect_tty() { it_retry expect_tty_once "$@"; }
expect_tty_once() {
  local want=$1 cmd=$2 out rc bad=0
  out=$(printf 'tty; [ -t 0 ] && echo is-a-tty; exit %s\n' "$want" | script -qec "$cmd" /dev/null); rc=$?
  printf '%s\n' "$out"
  printf '%s\n' "$out" | tr -d '\r' | grep -qx '/dev/pts/[0-9]*' || { echo "no /dev/pts/N from tty"; bad=1; }
  printf '%s\n' "$out" | tr -d '\r' | grep -qx is-a-tty || { echo "stdin is not a tty"; bad=1; }
  [ "$rc" -eq "$want" ] || { echo "exit code $rc, want $want"; bad=1; }
  return $bad
}

# Shell snippets, run by the container's sh, that print a cgroup limit from
# inside the container whatever the layout (v1 file, else v2 file).
IT_MEMF='f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -f $f ] || f=/sys/fs/cgroup/memory.max; cat $f'
IT_PIDSF='f=/sys/fs/cgroup/pids/pids.max; [ -f $f ] || f=/sys/fs/cgroup/pids.max; cat $f'
IT_CPUF='if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); else cat /sys/fs/cgroup/cpu.max; fi'

# it_wait_for SECONDS CMD... -- poll CMD every 0.1 s until it succeeds or
# SECONDS (wall clock) have passed
it_wait_for() {
  local end=$(( $(date +%s) + $1 )); shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 0.1
  done
}

# it_on_exit FUNC -- run FUNC when the harness exits, also when it is stopped
# by INT, TERM or HUP (bash runs an EXIT trap on a signal only if the signal
# itself is trapped).
it_on_exit() {
  trap "$1" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# it_start_daemon PIDFILE LOG CMD... -- start CMD in its own session, record its
# pid. The daemon is ours only through this pid file.
it_start_daemon() {
  local f=$1 log=$2; shift 2
  setsid "$@" >>"$log" 2>&1 < /dev/null &
  echo $! > "$f"
}

# it_pid_ours PIDFILE NAME -- true when PIDFILE names a live process whose
# cmdline contains NAME (a stale file, or a pid reused by another program, is
# not ours).
it_pid_ours() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2"
}

# it_stop_pid PIDFILE NAME -- TERM the pid in PIDFILE if it is still the
# process we started (its /proc/PID/cmdline contains NAME), wait up to 10 s,
# then KILL.
it_stop_pid() {
  local f=$1 name=$2 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if it_pid_ours "$f" "$name"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

# it_rmdir_cgroups REL... -- rmdir /sys/fs/cgroup/*/REL and /sys/fs/cgroup/REL
# (v1 controllers, the unified mount, a v2 root), deepest first; only empty
# cgroups go, busy ones stay.
it_rmdir_cgroups() {
  local rel d
  for rel in "$@"; do
    for d in /sys/fs/cgroup/*/"$rel" /sys/fs/cgroup/"$rel"; do
      [ -d "$d" ] && rmdir "$d" 2>/dev/null
    done
  done
  return 0
}
