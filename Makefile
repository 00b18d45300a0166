# autodnsfailover: the two commands a newcomer needs are `make demo` and
# `make test`. Both install the Debian packages they need first (as root,
# or through sudo when it is there).

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
PYTEST ?= /usr/bin/python3 -m pytest
# A hung test fails alone instead of eating the whole CI budget.
PYTEST_FLAGS ?= -q --timeout=180

BUILD_PACKAGES := cmake ninja-build g++ pkg-config libcurl4-openssl-dev libtinyxml2-dev \
	nlohmann-json3-dev libfmt-dev doctest-dev libldns-dev libcli11-dev libcpp-httplib-dev \
	libssl-dev
TEST_PACKAGES := python3 python3-pytest python3-pytest-timeout python3-dnspython iproute2 procps iputils-ping openssl \
	curl bind9 bind9-utils bind9-dnsutils knot knot-dnsutils pdns-server pdns-backend-sqlite3 \
	sqlite3 nginx nftables

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build deps-build deps-test demo test unit integration bench asan soak clean install

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

build: deps-build
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	cmake --build $(BUILD)

# Three daemons on 127.0.0.11-13 sharing one zone file; one peer's service
# stops and comes back. Prints a timeline and exits 0.
demo: build
	etc/demo/demo.sh $(BUILD)

unit: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600

integration: build deps-test
	ADF_BUILD_DIR=$(abspath $(BUILD)) $(PYTEST) $(PYTEST_FLAGS) tests/integration

test: deps-test
	$(MAKE) unit integration

# The whole suite under AddressSanitizer and UBSan. ASan's SIGSEGV handler
# is off: the check plugins that crash on purpose must die by their signal,
# as in production, for the isolation tests to see it.
asan:
	ASAN_OPTIONS=handle_segv=0 $(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_FLAGS=-DADF_SANITIZE=ON

# The multi-host test bed (tests/integration/testbed*.py) under random
# impairments, at most two hosts at a time, for SOAK_SECONDS; prints events,
# removals, re-adds, invariant violations and leaked processes, and fails on
# any violation or leak. SOAK_EVENTS: handled (what the daemon copes with
# today; `make test` runs 60 s of it), all (adds a broken route and one-way
# loss on one observer, and a host cut off from its peers), or a
# comma-separated list of event kinds. Needs root (network namespaces).
SOAK_SECONDS ?= 300
SOAK_EVENTS ?= handled
soak: build deps-test
	ADF_BUILD_DIR=$(abspath $(BUILD)) /usr/bin/python3 tests/integration/testbed_scenarios.py \
		soak --seconds $(SOAK_SECONDS) --events $(SOAK_EVENTS) $(if $(SOAK_SEED),--seed $(SOAK_SEED))

bench: build
	cmake --build $(BUILD) --target bench
	ADF_BUILD_DIR=$(abspath $(BUILD)) bench/run.sh

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
