# berth — build, run, test, bench.
#   make run     build, prepare a busybox bundle, run a container
#   make test    install test dependencies, then run every test
#   make bench   side-by-side benchmarks against runc and crun
#   make vm      cgroup v2 + systemd checks in a qemu guest (part of make test)
#   make integration / conformance   real clients (containerd, podman, docker)
#                with berth and with runc, a summary per client and runtime

SHELL := /bin/bash
CARGO ?= cargo
# `berth --version` prints the commit it was built from (runc's shape; docker's info reads it).
export BERTH_COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
BUILD := build
BUNDLE := $(BUILD)/bundle
BERTH := target/release/berth
BUSYBOX ?= /bin/busybox

APT_RUN_DEPS := busybox-static
APT_TEST_DEPS := busybox-static runc crun iproute2 util-linux uidmap strace procps attr \
	containerd podman docker.io skopeo umoci hyperfine time psmisc libcap2-bin \
	conmon jq bsdutils dbus python3 debootstrap docker-registry apache2-utils zstd curl \
	libseccomp-dev linux-libc-dev netavark aardvark-dns criu nftables

.PHONY: all build run bundle test test-deps test-images unit lint integration conformance bench bench-deps clean vm vm-deps

all: build

# Two invocations, not one `--workspace` build: cargo unifies features across
# the packages of one build, and berth's must never take berthctl's (tokio,
# rustls, SQLite).
# The runtime is linked statically with musl (x86_64-unknown-linux-musl, and
# dlmalloc as its allocator): glibc's start-up asks the CPU for its caches with
# some 70 CPUID instructions, each a trap to the hypervisor in a virtual
# machine: 0.9 ms of every berth command here (bench/RESULTS.md). Where rustup
# cannot add that target, berth is linked statically with glibc instead (the
# same code, that much slower to start) and the build says so. The supervisor
# (one per running container) is linked statically with glibc: its idle peak
# RSS is 1.2 MiB instead of 2.2 dynamically (conmon 1.9). `cargo rustc` puts the
# flag on that binary alone, so nothing else is rebuilt.
MUSL := x86_64-unknown-linux-musl
# Adds the musl target when it is missing; false where it cannot be had.
have_musl = { rustup target list --installed 2>/dev/null | grep -qx $(MUSL) || rustup target add $(MUSL) >/dev/null 2>&1; }

build:
	@if $(have_musl); then \
	  echo "$(CARGO) build --release --bin berth --target $(MUSL)"; \
	  $(CARGO) build --release --bin berth --target $(MUSL) && \
	  rm -f $(BERTH) && mkdir -p $(dir $(BERTH)) && cp target/$(MUSL)/release/berth $(BERTH); \
	else \
	  echo "berth: the $(MUSL) target is not available (rustup target add $(MUSL)); linking berth with glibc" >&2; \
	  echo "$(CARGO) rustc --release --bin berth -- -C target-feature=+crt-static"; \
	  $(CARGO) rustc --release --bin berth -- -C target-feature=+crt-static; \
	fi
	$(CARGO) build --release -p berthctl
	$(CARGO) rustc --release -p berthctl --bin berthctl-supervise -- -C target-feature=+crt-static

# Install Debian packages only when one is missing, so repeated runs are quick.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
endef

run-deps:
	$(call apt_install,$(APT_RUN_DEPS))

bundle: build run-deps
	@rm -rf $(BUNDLE) && mkdir -p $(BUNDLE)/rootfs/{bin,proc,sys,dev,tmp,etc,root}
	@cp $(BUSYBOX) $(BUNDLE)/rootfs/bin/busybox
	@for a in $$($(BUNDLE)/rootfs/bin/busybox --list); do [ "$$a" = busybox ] || ln -sf busybox $(BUNDLE)/rootfs/bin/$$a; done
	@echo 'root:x:0:0:root:/root:/bin/sh' > $(BUNDLE)/rootfs/etc/passwd
	@echo 'root:x:0:' > $(BUNDLE)/rootfs/etc/group
	@cd $(BUNDLE) && ../../$(BERTH) spec
	@echo "bundle ready in $(BUNDLE)"

run: bundle
	@cd $(BUNDLE) && sed -i 's|"sh"|"sh", "-c", "echo hostname: $$(hostname); id; cat /proc/mounts"|' config.json && \
	  sed -i 's/"terminal": true/"terminal": false/' config.json
	cd $(BUNDLE) && ../../$(BERTH) run --bundle . berth-demo-$$$$

test-deps:
	$(call apt_install,$(APT_TEST_DEPS))
	@command -v rustfmt >/dev/null || rustup component add rustfmt
	@command -v cargo-clippy >/dev/null || rustup component add clippy

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy -p berthctl --all-targets -- -D warnings
	@if $(have_musl); then echo "$(CARGO) clippy --all-targets --target $(MUSL) -- -D warnings"; \
	  $(CARGO) clippy --all-targets --target $(MUSL) -- -D warnings; fi

# The seccomp differential test links libseccomp (libseccomp-dev, in test-deps).
unit:
	$(CARGO) test --lib
	$(CARGO) test -p berthctl

# Root tests drive the real binary; they are #[ignore = "needs root"] so that a
# plain `cargo test` stays unprivileged.
# `test-hooks` adds the fault-injection points tests/faults.rs kills berth at;
# the installed binary (`make build`) never has them.
# The root tests drive the binary `build` ships: the musl one where it is made
# (built again here with the test hooks), else cargo's own.
test: test-deps lint build
	@if $(have_musl); then \
	  $(CARGO) build --profile ci --features test-hooks --bin berth --target $(MUSL) && \
	  BERTH_TEST_BIN=$(CURDIR)/target/$(MUSL)/ci/berth $(CARGO) test --profile ci --features test-hooks -- --include-ignored; \
	else \
	  $(CARGO) test --profile ci --features test-hooks -- --include-ignored; \
	fi
	$(MAKE) test-images
	$(CARGO) test --profile ci -p berthctl --features test-hooks -- --include-ignored
	$(MAKE) integration
	$(MAKE) vm

# The images berthctl's tests and the bench pull, push, load and unpack
# (busybox, Debian minbase + nginx, 60 layers, zstd, uncompressed, a
# two-platform index, archives, a registry storage), built without internet
# but for this machine's Debian mirror and cached in $(BUILD)/images;
# integration/registry/README.md lists them.
test-images: test-deps
	integration/registry/images.sh $(CURDIR)/$(BUILD)/images >/dev/null

# Each client harness runs with berth and with runc, so that a failure of
# berth can be told from one of the machine or the harness. Logs go to
# build/integration/<client>-<runtime>.log.
INTEGRATION_RUNTIMES ?= $(BERTH) runc
INTEGRATION_CLIENTS ?= containerd podman docker

integration: build
	IT_LOGS=$(BUILD)/integration integration/run-all.sh -c "$(INTEGRATION_CLIENTS)" $(INTEGRATION_RUNTIMES)

# cgroup v2 and --systemd-cgroup checks in a qemu guest (integration/vm/README.md).
# qemu comes from bookworm-backports: bookworm's own qemu-system-x86 would make
# apt remove the machine's newer qemu-utils. The guest image is cached in
# $(BUILD)/vm (VMTEST_DIR overrides).
vm-deps:
	integration/vm/run-in-guest.sh --deps
vm: build run-deps vm-deps
	integration/vm/run.sh

conformance: build
	IT_LOGS=$(BUILD)/integration integration/run-all.sh -c "$(INTEGRATION_CLIENTS)" $(INTEGRATION_RUNTIMES)

APT_BENCH_DEPS := busybox-static hyperfine time runc crun python3 util-linux skopeo umoci podman conmon docker.io docker-registry netavark aardvark-dns curl jq buildah

bench-deps:
	$(call apt_install,$(APT_BENCH_DEPS))

# Side by side in one private mount namespace; report in build/bench/report.md.
# BENCH_ROUNDS, BENCH_RUNS, BENCH_ONLY: see bench/run.sh.
# bench/pull.sh: berthctl pull vs podman pull vs skopeo copy + umoci unpack of
# the Debian+nginx test image from a local registry (build/bench/pull.md);
# bench/network.sh: run -p until HTTP 200 vs podman, and what a user network
# costs a container, in a network namespace of its own (build/bench/network.md);
# bench/containers.sh: berthctl run --rm / exec / idle supervisor RSS vs podman
# (conmon) and docker, 100 x run -d and ps -a (build/bench/containers.md);
# bench/build.sh: berthctl build vs docker build vs buildah bud, a cached
# 10-step rebuild and a cold 3-RUN build (build/bench/build.md).
bench: build bench-deps test-images
	bench/run.sh
	bench/pull.sh
	mkdir -p $(BUILD)/bench && bench/network.sh $(CURDIR)/$(BUILD)/images | tee $(BUILD)/bench/network.md
	bench/containers.sh
	bench/build.sh

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
