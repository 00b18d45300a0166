# autodnsfailover: the two commands a newcomer needs are `make demo` and
# `make test`. Both install the Debian packages they need first (as root,
# or through sudo when it is there).

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
PYTEST ?= /usr/bin/python3 -m pytest
# A hung test fails alone instead of eating the whole CI budget.
PYTEST_FLAGS ?= -q --timeout=180

# Warnings are errors in every build this Makefile makes (CI included); a
# plain `cmake` leaves them warnings (ADF_WERROR=OFF) for other compilers.
WERROR ?= ON

BUILD_PACKAGES := cmake ninja-build g++ pkg-config libcurl4-openssl-dev libtinyxml2-dev \
	nlohmann-json3-dev libfmt-dev doctest-dev libldns-dev libcli11-dev libcpp-httplib-dev \
	libssl-dev scdoc libsystemd-dev prometheus-cpp-dev libmicrohttpd-dev
# The package test needs dpkg-dev, file and binutils (cpack's shlibdeps and
# debug symbols), lintian, systemd (systemd-analyze), man-db and adduser; the
# SDK's dns example needs libsqlite3-dev. The notification, metrics and
# systemd tests need an SMTP server (python3-aiosmtpd), promtool
# (prometheus) and the Prometheus client's parser (python3-prometheus-client).
TEST_PACKAGES := python3 python3-pytest python3-pytest-timeout python3-dnspython iproute2 procps iputils-ping openssl \
	curl bind9 bind9-utils bind9-dnsutils knot knot-dnsutils pdns-server pdns-backend-sqlite3 \
	sqlite3 nginx dpkg-dev file binutils lintian systemd man-db adduser libsqlite3-dev nftables \
	python3-aiosmtpd prometheus python3-prometheus-client
# What `make demo` builds: the daemon (and with it its check helper), the
# four plugins of its configs, and the small service it checks.
DEMO_TARGETS := autodnsfailover plugin_static plugin_zonefile plugin_tcp_check \
	plugin_fixed_interval adf-test-service

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all configure build deps-build deps-test deps-fuzz demo test unit integration fuzz \
	fuzz-build fuzz-short bench asan soak clean install packages

all: build

# Installs only what is missing, so a prepared machine pays nothing.
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps-build:
	$(call install_missing,$(BUILD_PACKAGES))

deps-test: deps-build
	$(call install_missing,$(TEST_PACKAGES))

configure: deps-build
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DADF_WERROR=$(WERROR) \
		$(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD)

# Three daemons on 127.0.0.11-13 sharing one zone file; one peer's service
# stops and comes back. Prints a timeline and exits 0. Builds only what it runs.
demo: configure
	cmake --build $(BUILD) --target $(DEMO_TARGETS)
	etc/demo/demo.sh $(BUILD)

unit: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600

integration: build deps-test
	ADF_BUILD_DIR=$(abspath $(BUILD)) $(PYTEST) $(PYTEST_FLAGS) tests/integration

test: deps-test
	$(MAKE) unit integration fuzz-short

# libFuzzer over every parser of outside input (tests/fuzz/), in a clang
# build of its own. `make fuzz` runs each harness FUZZ_SECONDS (two at a
# time on two cores) and prints executions and coverage per harness;
# `make test` runs each for a few seconds (fuzz-short).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 180
FUZZ_PACKAGES := clang libclang-rt-14-dev

deps-fuzz: deps-build
	$(call install_missing,$(FUZZ_PACKAGES))

fuzz-build: deps-fuzz
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DADF_FUZZ=ON
	cmake --build $(FUZZ_BUILD) --target fuzz

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

fuzz-short: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) 4

# The whole suite under AddressSanitizer and UBSan. ASan's SIGSEGV handler
# is off: the check plugins that crash on purpose must die by their signal,
# as in production, for the isolation tests to see it.
asan:
	ASAN_OPTIONS=handle_segv=0 $(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_FLAGS=-DADF_SANITIZE=ON

# The multi-host test bed (tests/integration/testbed*.py) under random
# impairments, at most two hosts at a time, for SOAK_SECONDS; prints events,
# removals, re-adds, invariant violations and leaked processes, and fails on
# any violation or leak. SOAK_EVENTS: handled or all (the same since the
# daemons decide together: service stop, link down, cut off, DNS outages,
# flapping, SIGKILL, a broken route and one-way loss on one observer, a host
# cut off from its peers; `make test` runs 60 s of it), or a
# comma-separated list of event kinds. Needs root (network namespaces).
SOAK_SECONDS ?= 300
SOAK_EVENTS ?= handled
soak: build deps-test
	ADF_BUILD_DIR=$(abspath $(BUILD)) /usr/bin/python3 tests/integration/testbed_scenarios.py \
		soak --seconds $(SOAK_SECONDS) --events $(SOAK_EVENTS) $(if $(SOAK_SEED),--seed $(SOAK_SEED))

# The daemon benchmark, then detection times on the multi-host test bed
# (bench/detection.py: p50/p95 of service stop and silent host; needs root).
bench: build deps-test
	cmake --build $(BUILD) --target bench
	ADF_BUILD_DIR=$(abspath $(BUILD)) bench/run.sh
	ADF_BUILD_DIR=$(abspath $(BUILD)) /usr/bin/python3 bench/detection.py

# Into /usr/local by default (PREFIX=/opt/adf or DESTDIR=... for elsewhere);
# the unit goes where systemd looks for that prefix.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian packages (autodnsfailover, -dev, -dbgsym) into $(BUILD)/packages.
packages: build deps-test
	cpack -G DEB --config $(BUILD)/CPackConfig.cmake -B $(abspath $(BUILD))/packages

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)
