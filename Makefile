# Teardown: conformance suite and fault-injection harness for socket providers.
#   make conformance [PROVIDER=reference|posix]   build, then check a provider against SPEC.md
#   make test                                     every test
#   make repeat [N=20]                            the whole test suite N times in a row
#   make deps                                     install what is missing (apt-get, as root)

SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
PROVIDER ?= reference
N ?= 20
PROVIDERS := reference posix

.PHONY: all deps build test conformance repeat format lint clean

all: build

deps:
	@command -v $(SWIFT) >/dev/null || { echo "teardown: swift not found; install Swift 6.3 (expected at /opt/swift/usr/bin)" >&2; exit 1; }
	@if ! pkg-config --exists libpcap 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "teardown: installing libpcap-dev and pkg-config"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev pkg-config >/dev/null; \
	  else \
	    echo "teardown: libpcap is missing; install it with: sudo apt-get install -y libpcap-dev pkg-config" >&2; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build --build-tests

test: build
	$(SWIFT) test --skip-build

conformance: build
	@case " $(PROVIDERS) " in *" $(PROVIDER) "*) ;; \
	  *) echo "teardown: unknown PROVIDER '$(PROVIDER)'; the built-in providers are: $(PROVIDERS)" >&2; exit 64;; esac
	TEARDOWN_PROVIDERS=$(PROVIDER) $(SWIFT) test --skip-build --filter 'Statements|providerSelection|statementsNotApplicable'

repeat: build
	@for i in $$(seq 1 $(N)); do \
	  echo "teardown: run $$i of $(N)"; \
	  $(SWIFT) test --skip-build > .build/repeat.log 2>&1 || { tail -60 .build/repeat.log; echo "teardown: run $$i of $(N) failed" >&2; exit 1; }; \
	  tail -1 .build/repeat.log; \
	done

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

clean:
	rm -rf .build
