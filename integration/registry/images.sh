#!/bin/bash
# integration/registry/images.sh [DIR]  -- build the test images, offline but
# for the Debian mirror, into DIR (default build/images) and print DIR.
#
# Cached: nothing is rebuilt while DIR/.complete holds this script's FORMAT;
# the debootstrap rootfs (the slow part) is kept in DIR/cache across format
# changes. Concurrent callers wait on DIR.lock. Needs root (debootstrap,
# chroot, owners in the layers). What DIR holds is listed in README.md here.
set -euo pipefail

FORMAT=4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
OUT=${1:-$repo/build/images}
SUITE=bookworm
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'images.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, file owners)"
for tool in umoci skopeo debootstrap docker-registry jq zstd curl python3 setcap htpasswd; do
	command -v "$tool" >/dev/null || die "$tool is missing (make test-deps installs it)"
done
[ -x /bin/busybox ] || die "/bin/busybox is missing (Debian's busybox-static)"

mkdir -p "$OUT"
exec 9>"$OUT.lock"
flock 9
if [ "$(cat "$OUT/.complete" 2>/dev/null)" = "$FORMAT" ]; then
	echo "$OUT"
	exit 0
fi

L=$OUT/oci
TMP=$(mktemp -d "$OUT/tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# The mirror this machine's apt uses, read from its sources (deb822 .sources
# files and one-line .list files): the first `deb` entry for $SUITE.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
			{ uri = ""; ok_suite = 0; ok_type = 0
			  for (i = 1; i <= NF; i++) {
			    if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
			    if ($i ~ /^Suites:/ && (" " $i " ") ~ ("[ \t]" suite "[ \t]")) ok_suite = 1
			    if ($i ~ /^Types:/ && (" " $i " ") ~ /[ \t]deb[ \t]/) ok_type = 1
			  }
			  if (uri != "" && ok_suite && ok_type) { print uri; exit } }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -e 's/\[[^]]*\]//' |
		awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }' || true
}

tar_dir() { # tar_dir ROOT FILE [tar options]: a layer tar of ROOT, owners numeric
	local root=$1 file=$2
	shift 2
	tar --sort=name --numeric-owner --xattrs --xattrs-include='*' "$@" -C "$root" -cf "$file" .
}

# ---------------------------------------------------------------- busybox
build_busybox() {
	local r=$TMP/busybox a
	mkdir -p "$r"/{bin,dev,proc,sys,etc,root,tmp,var/tmp}
	chmod 0755 "$r"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$r/etc/passwd"
	printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' >"$r/etc/group"
	tar_dir "$r" "$TMP/busybox.tar" --mtime=@0 --owner=0 --group=0
	umoci new --image "$L:busybox"
	umoci raw add-layer --image "$L:busybox" --history.created_by "busybox-static applets" "$TMP/busybox.tar"
	umoci config --image "$L:busybox" --config.cmd sh --config.env "$PATH_ENV" --config.workingdir / \
		--config.label org.opencontainers.image.title=busybox
}

# Variants of busybox with the same layer tar as zstd and uncompressed blobs
# (same config and diff id; written by hand: skopeo would reuse the gzip blob).
build_busybox_variants() {
	local m man layer
	m=$(ref_digest busybox)
	man=$L/blobs/sha256/${m#sha256:}
	zstd -q -19 -c "$TMP/busybox.tar" >"$TMP/busybox.tar.zst"
	layer=$(put_blob "$TMP/busybox.tar.zst")
	variant "$man" busybox-zstd application/vnd.oci.image.layer.v1.tar+zstd "$layer" "$TMP/busybox.tar.zst"
	layer=$(put_blob "$TMP/busybox.tar")
	variant "$man" busybox-uncompressed application/vnd.oci.image.layer.v1.tar "$layer" "$TMP/busybox.tar"
}

variant() { # variant MANIFEST TAG MEDIATYPE DIGEST FILE: MANIFEST with its one layer replaced, tagged TAG
	jq -c --arg t "$3" --arg d "$4" --argjson s "$(stat -c %s "$5")" \
		'.layers[0].mediaType = $t | .layers[0].digest = $d | .layers[0].size = $s' "$1" >"$TMP/variant.json"
	tag_blob "$(put_blob "$TMP/variant.json")" "$(stat -c %s "$TMP/variant.json")" \
		application/vnd.oci.image.manifest.v1+json "$2"
}

tag_blob() { # tag_blob DIGEST SIZE MEDIATYPE TAG: add a ref to the layout's index.json
	jq -c --arg d "$1" --argjson s "$2" --arg t "$3" --arg n "$4" \
		'.manifests += [{mediaType: $t, digest: $d, size: $s,
		  annotations: {"org.opencontainers.image.ref.name": $n}}]' "$L/index.json" >"$TMP/index.json"
	mv "$TMP/index.json" "$L/index.json"
}

ref_digest() { # ref_digest TAG: the digest the layout's index.json gives TAG
	jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$L/index.json"
}

# An image index: busybox for amd64 and the same layer labelled arm64 (only
# the config's architecture differs), as a nested index tagged busybox-multi.
build_index() {
	local m c cfg man idx arm_cfg arm_man
	m=$(ref_digest busybox)
	man=$L/blobs/sha256/${m#sha256:}
	c=$(jq -r .config.digest "$man")
	cfg=$L/blobs/sha256/${c#sha256:}
	jq -c '.architecture = "arm64" | .variant = "v8"' "$cfg" >"$TMP/arm-config.json"
	arm_cfg=$(put_blob "$TMP/arm-config.json")
	jq -c --arg d "$arm_cfg" --argjson s "$(stat -c %s "$TMP/arm-config.json")" \
		'.config.digest = $d | .config.size = $s' "$man" >"$TMP/arm-manifest.json"
	arm_man=$(put_blob "$TMP/arm-manifest.json")
	jq -n -c --arg amd "$m" --argjson amds "$(stat -c %s "$man")" \
		--arg arm "$arm_man" --argjson arms "$(stat -c %s "$TMP/arm-manifest.json")" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [
		  {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $amd, size: $amds,
		   platform: {architecture: "amd64", os: "linux"}},
		  {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $arm, size: $arms,
		   platform: {architecture: "arm64", os: "linux", variant: "v8"}}]}' >"$TMP/index-blob.json"
	idx=$(put_blob "$TMP/index-blob.json")
	tag_blob "$idx" "$(stat -c %s "$TMP/index-blob.json")" application/vnd.oci.image.index.v1+json busybox-multi
}

put_blob() { # put_blob FILE -> its digest, the file copied into the layout
	local d
	d=$(sha256sum "$1" | cut -c1-64)
	cp "$1" "$L/blobs/sha256/$d"
	echo "sha256:$d"
}

# ---------------------------------------------------------------- debian
debootstrap_rootfs() {
	local tarball=$OUT/cache/debian-$SUITE.tar mirror r
	[ -f "$tarball" ] && return 0
	mirror=$(apt_mirror | head -n1) || true
	[ -n "$mirror" ] || die "no 'deb' source for $SUITE in /etc/apt/sources.list(.d)"
	log "debootstrap --variant=minbase $SUITE from $mirror (a few minutes)"
	mkdir -p "$OUT/cache/debs"
	r=$TMP/debootstrap
	debootstrap --variant=minbase --cache-dir="$OUT/cache/debs" "$SUITE" "$r" "$mirror" >"$TMP/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$TMP/debootstrap.log" >&2; die "debootstrap failed"; }
	# What a container image leaves out: device nodes, host files, apt caches.
	rm -rf "${r:?}"/dev/* "$r"/proc/* "$r"/sys/* "$r"/run/* "$r"/tmp/* \
		"$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
		"$r"/var/log/* "$r"/etc/hostname "$r"/etc/resolv.conf "$r"/debootstrap
	tar_dir "$r" "$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
	rm -rf "$r"
}

build_debian() {
	debootstrap_rootfs
	umoci new --image "$L:debian"
	umoci raw add-layer --image "$L:debian" --history.created_by "debootstrap --variant=minbase $SUITE" \
		"$OUT/cache/debian-$SUITE.tar"
	umoci config --image "$L:debian" --config.cmd bash --config.env "$PATH_ENV" \
		--config.label org.opencontainers.image.title=debian
}

# nginx on the Debian base: apt in a chroot of an unpacked copy, then umoci's
# diff of it as a second layer. The rm's of base files are deliberate, so the
# layer carries real whiteouts (a file and a directory); the capability on
# nginx gives it an xattr.
build_nginx() {
	local b=$TMP/nginx-bundle r
	umoci unpack --image "$L:debian" "$b" >/dev/null
	r=$b/rootfs
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 0755 "$r/usr/sbin/policy-rc.d"
	: >"$r/etc/resolv.conf"
	# A private mount and pid namespace: proc, /dev and resolv.conf are seen
	# by apt only, and go away with it.
	unshare --mount --pid --fork sh -euc '
		r=$1
		mount -t proc proc "$r/proc"
		mount --bind /dev "$r/dev"
		mount --bind /etc/resolv.conf "$r/etc/resolv.conf"
		chroot "$r" sh -euc "apt-get update -qq
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
			apt-get clean
			rm -rf /var/lib/apt/lists/*"' sh "$r" >"$TMP/apt.log" 2>&1 ||
		{ tail -n 20 "$TMP/apt.log" >&2; die "apt-get install nginx in the chroot failed"; }
	rm -f "$r/usr/sbin/policy-rc.d" "$r/etc/resolv.conf"
	rm -rf "$r"/var/log/* "$r"/var/cache/apt/*.bin "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old
	[ -f "$r/etc/motd" ] && [ -d "$r/usr/share/doc/base-files" ] ||
		die "expected /etc/motd and /usr/share/doc/base-files in the Debian base"
	rm -f "$r/etc/motd"
	rm -rf "$r/usr/share/doc/base-files"
	setcap cap_net_bind_service=+ep "$r/usr/sbin/nginx"
	umoci repack --image "$L:nginx" --history.created_by "apt-get install nginx; rm /etc/motd /usr/share/doc/base-files" "$b"
	umoci config --image "$L:nginx" --config.cmd=nginx --config.cmd=-g --config.cmd='daemon off;' --config.exposedports 80/tcp \
		--config.label org.opencontainers.image.title=nginx
	rm -rf "$b"
}

# ---------------------------------------------------------------- 60 layers
# busybox plus 59 small layers: layer N adds /layers/N and rewrites
# /layers/top; layer 40 deletes /layers/10 with a whiteout.
build_layers60() {
	local n d
	skopeo copy -q --preserve-digests "oci:$L:busybox" "oci:$L:layers60"
	for n in $(seq 2 60); do
		d=$TMP/layer$n
		mkdir -p "$d/layers"
		echo "$n" >"$d/layers/$n"
		echo "$n" >"$d/layers/top"
		[ "$n" = 40 ] && : >"$d/layers/.wh.10"
		tar_dir "$d" "$TMP/layer$n.tar" --mtime=@0 --owner=0 --group=0
		umoci raw add-layer --image "$L:layers60" --history.created_by "layer $n" "$TMP/layer$n.tar"
		rm -rf "$d" "$TMP/layer$n.tar"
	done
	umoci config --image "$L:layers60" --config.label org.opencontainers.image.title=layers60
}

# ---------------------------------------------------------------- archives
# oci-archive per image, a docker-archive of busybox.
build_archives() {
	local t
	for t in busybox busybox-zstd busybox-uncompressed debian nginx layers60; do
		skopeo copy -q --preserve-digests --dest-oci-accept-uncompressed-layers "oci:$L:$t" "oci-archive:$OUT/$t.oci.tar:$t"
	done
	skopeo copy -q --all --preserve-digests "oci:$L:busybox-multi" "oci-archive:$OUT/busybox-multi.oci.tar:busybox-multi"
	skopeo copy -q "oci:$L:busybox" "docker-archive:$OUT/busybox.docker.tar:busybox:latest"
}

# ---------------------------------------------------------------- registry
# A docker-registry storage with every image pushed; tests and the bench
# serve a copy of it (registry.sh).
REFS="busybox:latest=busybox busybox:zstd=busybox-zstd busybox:uncompressed=busybox-uncompressed
	busybox:multi=busybox-multi debian:bookworm=debian nginx:latest=nginx layers60:latest=layers60"

build_registry() {
	local store=$TMP/registry port pid ref tag got
	mkdir -p "$store"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$here/registry.sh" serve --addr "127.0.0.1:$port" --dir "$store" </dev/null >"$TMP/reg.out" 2>&1 &
	pid=$!
	"$here/registry.sh" wait "127.0.0.1:$port" || { cat "$TMP/reg.out" >&2; die "registry did not start"; }
	for ref in $REFS; do
		tag=${ref#*=}
		skopeo copy -q --all --preserve-digests --dest-tls-verify=false "oci:$L:$tag" "docker://127.0.0.1:$port/${ref%%=*}"
		got=sha256:$(skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$port/${ref%%=*}" | sha256sum | cut -c1-64)
		[ "$got" = "$(ref_digest "$tag")" ] || die "${ref%%=*} in the registry is $got, not $(ref_digest "$tag")"
	done
	# Docker's v2 schema 2 media types (skopeo converts).
	skopeo copy -q --format v2s2 --dest-tls-verify=false "oci:$L:busybox" "docker://127.0.0.1:$port/busybox:v2s2"
	kill -TERM "$pid"
	wait "$pid" || true
	rm -rf "$OUT/registry"
	mv "$store/data" "$OUT/registry"
}

# The digests tests compare against, one `name=value` a line.
write_env() {
	local t m
	{
		for t in busybox busybox-zstd busybox-uncompressed busybox-multi debian nginx layers60; do
			m=$(ref_digest "$t")
			echo "${t//-/_}_digest=$m"
		done
		echo "mirror=$(apt_mirror | head -n1 || true)"
	} >"$OUT/images.env"
}

rm -rf "$L" "$OUT"/*.oci.tar "$OUT"/*.docker.tar "$OUT/registry" "$OUT/.complete"
umoci init --layout "$L"
log "busybox";                 build_busybox
log "busybox variants, index"; build_busybox_variants; build_index
log "debian";                  build_debian
log "nginx";                   build_nginx
log "60 layers";               build_layers60
umoci gc --layout "$L"
log "archives";                build_archives
log "registry storage";        build_registry
write_env
echo "$FORMAT" >"$OUT/.complete"
log "images ready in $OUT"
echo "$OUT"
