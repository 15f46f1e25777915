# Teardown: conformance suite and fault-injection harness for socket providers.
#   make conformance [PROVIDER=reference|posix]   build, then run the suite against a provider (ARGS=... passes options)
#   make test                                     every test (installs a JDK, Wine and mingw-w64 first when missing, as root)
#   make repeat [N=20]                            the whole test suite N times in a row
#   make bench                                    benchmarks, printing their figures and ratios
#   make fixtures                                 record the capture fixtures in captures/ again (needs capture rights)
#   make examples                                 build the example provider in C (Examples/c-provider/libexample.so)
#   make validate PROVIDER=path/to/lib.so         build, then the suite against a provider plugin (EXPECTATIONS=file for its known deviations)
#   make validate PROVIDER=exec:'COMMAND'         the same for a provider in a process of its own (docs/provider-protocol.md)
#   make validate-java                            the suite against Java's NIO (Examples/java-provider), with its expectations
#   make deps-java                                install a JDK if javac is missing (apt-get, as root)
#   make explore [EXPLORE_COUNT=10000]            generated scenarios against the reference provider, judged by the model of SPEC.md
#   make test-kit                                 the example Swift package (Examples/swift-provider), copied outside the checkout, runs the suite with swift test
#   make validate-wine                            the suite against Wine's Winsock (Examples/winsock-provider), with its expectations
#   make deps-wine                                install Wine and mingw-w64 if missing (apt-get, as root)
#   make power                                    the suite against every mutant (Swift and C): which cases catch which mistake
#   make c-mutants                                the mutants of the example provider in C (.build/c-mutants)
#   make screenshot                               a posix run's HTML report, rendered by headless Chromium (.build/screenshot/)
#   make fuzz [FUZZ_SECONDS=600]                  libFuzzer on the readers of captures, cases, fault plans and expectations
#   make deps                                     install what is missing (apt-get, as root)

SHELL := /bin/bash
TMPDIR ?= /tmp
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
PROVIDER ?= reference
N ?= 20
PROVIDERS := reference posix

.PHONY: explore test-kit all deps deps-java java-provider validate-java deps-wine winsock-provider validate-wine build test conformance examples c-mutants validate power repeat bench fixtures screenshot fuzz format lint clean

all: build

# libpcap-dev and pkg-config build the capture module; tshark and tcpdump are what the analysis is
# cross-checked and benchmarked against; chromium renders the HTML report in the tests; gcc builds the
# example provider in C.
DEB_PACKAGES := libpcap-dev pkg-config tshark tcpdump chromium gcc libc6-dev patch

deps:
	@command -v $(SWIFT) >/dev/null || { echo "teardown: swift not found; install Swift 6.3 (expected at /opt/swift/usr/bin)" >&2; exit 1; }
	@missing=""; \
	pkg-config --exists libpcap 2>/dev/null || missing="$$missing libpcap-dev pkg-config"; \
	command -v tshark >/dev/null || missing="$$missing tshark"; \
	command -v tcpdump >/dev/null || [ -x /usr/sbin/tcpdump ] || missing="$$missing tcpdump"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v cc >/dev/null || missing="$$missing gcc libc6-dev"; \
	command -v patch >/dev/null || missing="$$missing patch"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "teardown: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  elif ! pkg-config --exists libpcap 2>/dev/null; then \
	    echo "teardown: libpcap is missing; install it with: sudo apt-get install -y $(DEB_PACKAGES)" >&2; exit 1; \
	  else \
	    echo "teardown: without$$missing the cross-checks (tshark, tcpdump) and the browser check (chromium) are skipped; install with: sudo apt-get install -y$$missing" >&2; \
	  fi; \
	fi
	@# junitparser (PyPI) is the JUnit consumer the reports are checked against.
	@if ! python3 -c 'import junitparser' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "teardown: installing junitparser"; python3 -m pip install -q junitparser 2>/dev/null; \
	  else \
	    echo "teardown: without junitparser the JUnit check is skipped; install with: python3 -m pip install junitparser" >&2; \
	  fi; \
	fi

build: deps
	$(SWIFT) build --build-tests

# The tests run Java's NIO and Wine's Winsock through the whole suite: a JDK, Wine and mingw-w64 are set up first.
test: build deps-java deps-wine
	$(SWIFT) test --skip-build

# The suite against a built-in provider; a provider's expectations file, when there is one, lists its known deviations.
EXPECTATIONS = $(wildcard conformance/expectations/$(PROVIDER).yaml)

conformance: build
	@case " $(PROVIDERS) " in *" $(PROVIDER) "*) ;; \
	  *) echo "teardown: unknown PROVIDER '$(PROVIDER)'; the built-in providers are: $(PROVIDERS)" >&2; exit 64;; esac
	.build/debug/teardown run --provider $(PROVIDER) $(if $(EXPECTATIONS),--expectations $(EXPECTATIONS)) \
	  --junit .build/conformance-$(PROVIDER).xml --json .build/conformance-$(PROVIDER).json $(ARGS)

# The example provider in C, against the header shipped in Sources/CTeardownProvider/include.
CC ?= cc
EXAMPLE_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -fPIC -pthread -I Sources/CTeardownProvider/include
examples: Examples/c-provider/libexample.so
Examples/c-provider/libexample.so: Examples/c-provider/example_provider.c Sources/CTeardownProvider/include/teardown_provider.h
	$(CC) $(EXAMPLE_CFLAGS) -shared -o $@ $<

# The suite against a provider plugin, or a provider in a process of its own (exec:COMMAND), each case in a worker
# process.
validate: build examples
	@case "$(PROVIDER)" in exec:*|*.so|*/*) ;; \
	  *) echo "teardown: make validate PROVIDER=path/to/libprovider.so (e.g. Examples/c-provider/libexample.so), or PROVIDER=exec:'COMMAND'" >&2; exit 64;; esac
	.build/debug/teardown run --provider $(if $(filter exec:%,$(PROVIDER)),'$(PROVIDER)',plugin:$(PROVIDER)) \
	  $(if $(EXPECTATIONS),--expectations $(EXPECTATIONS)) --junit .build/validate.xml --json .build/validate.json $(ARGS)

# Scenarios generated where statements meet, judged by the model of SPEC.md: on the reference, any disagreement is a
# bug in the model, the provider or SPEC.md (written to .build/explore as a case).
EXPLORE_COUNT ?= 10000
explore: build
	.build/debug/teardown explore --provider $(PROVIDER) --count $(EXPLORE_COUNT) --keep-going --out .build/explore $(ARGS)

# A Swift provider in a package of its own (Examples/swift-provider) runs the suite from its own swift test, through
# the TeardownTestKit library, copied outside this checkout so that nothing but the dependency links the two.
test-kit: deps
	@rm -rf $(TMPDIR)/teardown-test-kit && mkdir -p $(TMPDIR)/teardown-test-kit
	cp -r Examples/swift-provider/Package.swift Examples/swift-provider/Sources Examples/swift-provider/Tests $(TMPDIR)/teardown-test-kit/
	cd $(TMPDIR)/teardown-test-kit && TEARDOWN=$(CURDIR) $(SWIFT) test

# Java's NIO as a provider: Examples/java-provider, built with javac, run with java.
deps-java:
	@if ! command -v javac >/dev/null || ! command -v java >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "teardown: installing a JDK (openjdk-17-jdk-headless)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless >/dev/null; \
	  else \
	    echo "teardown: javac is missing; install it with: sudo apt-get install -y openjdk-17-jdk-headless" >&2; exit 1; \
	  fi; \
	fi
JAVA_PROVIDER := exec:java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp $(CURDIR)/.build/java-provider JavaProvider
java-provider: deps-java .build/java-provider/JavaProvider.class
.build/java-provider/JavaProvider.class: Examples/java-provider/JavaProvider.java
	javac -Xlint:all -Werror -d .build/java-provider $<
validate-java: build java-provider
	.build/debug/teardown run --provider '$(JAVA_PROVIDER)' --expectations conformance/expectations/java-nio.yaml \
	  --junit .build/validate-java.xml --json .build/validate-java.json $(ARGS)

# Wine's Winsock as a provider: Examples/winsock-provider, a Windows program built with mingw-w64, run under Wine
# with a prefix of its own (~/.cache/teardown/wine, made on first use); its wineserver is stopped after the run.
deps-wine:
	@missing=""; \
	command -v x86_64-w64-mingw32-gcc >/dev/null || missing="$$missing gcc-mingw-w64-x86-64"; \
	command -v wine64 >/dev/null || command -v wine >/dev/null || [ -x /usr/lib/wine/wine64 ] || missing="$$missing wine64"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "teardown: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "teardown: Wine or mingw-w64 is missing; install them with: sudo apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	fi
WINSOCK_PROVIDER := exec:$(CURDIR)/Examples/winsock-provider/winsock-provider.sh
winsock-provider: deps-wine .build/winsock-provider/winsock_provider.exe
.build/winsock-provider/winsock_provider.exe: Examples/winsock-provider/winsock_provider.c
	@mkdir -p .build/winsock-provider
	x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -O2 -o $@ $< -lws2_32 -lmswsock
# Four cases at a time: with eight, Wine's closesocket now and then took a second in mid.delayed.receive.
validate-wine: build winsock-provider
	.build/debug/teardown run --provider '$(WINSOCK_PROVIDER)' --jobs 4 --expectations conformance/expectations/winsock.yaml \
	  --junit .build/validate-wine.xml --json .build/validate-wine.json $(ARGS); status=$$?; \
	  Examples/winsock-provider/winsock-provider.sh --stop; exit $$status

# The mutants of the example provider in C: each patch in Examples/c-provider/mistakes makes one mistake; a patch
# that no longer applies to example_provider.c stops the build.
C_MUTANT_PATCHES := $(wildcard Examples/c-provider/mistakes/*.patch)
C_MUTANTS := $(patsubst Examples/c-provider/mistakes/%.patch,.build/c-mutants/lib%.so,$(C_MUTANT_PATCHES))
c-mutants: $(C_MUTANTS)
	@for f in .build/c-mutants/*.patch; do [ -e "$$f" ] || continue; \
	  [ -e "Examples/c-provider/mistakes/$${f##*/}" ] || rm -f "$$f" ".build/c-mutants/lib$$(basename "$$f" .patch).so"; done
.build/c-mutants/lib%.so: Examples/c-provider/mistakes/%.patch Examples/c-provider/example_provider.c Sources/CTeardownProvider/include/teardown_provider.h
	@rm -rf .build/c-mutants/$* && mkdir -p .build/c-mutants/$*
	@cp Examples/c-provider/example_provider.c .build/c-mutants/$*/
	@patch -s -p1 --no-backup-if-mismatch -d .build/c-mutants/$* < $< || { echo "teardown: $< no longer applies to example_provider.c" >&2; exit 1; }
	$(CC) $(EXAMPLE_CFLAGS) -shared -o $@ .build/c-mutants/$*/example_provider.c
	@cp $< .build/c-mutants/$*.patch

# Every mutant (the reference, or the example in C, with one mistake) must be caught by a case of a statement it breaks.
power: build examples c-mutants
	.build/debug/teardown power --c-mutants .build/c-mutants --json .build/power.json $(ARGS)

# The whole test suite N times: what fails one run in many shows. Java's NIO and Wine's Winsock run the whole suite
# three rounds each inside their own tests already, which compare the rounds: they are left out here.
repeat: build
	@for i in $$(seq 1 $(N)); do \
	  echo "teardown: run $$i of $(N)"; \
	  $(SWIFT) test --skip-build --skip 'javaNIO|wineWinsock' > .build/repeat.log 2>&1 || { tail -60 .build/repeat.log; echo "teardown: run $$i of $(N) failed" >&2; exit 1; }; \
	  tail -1 .build/repeat.log; \
	done

bench: deps java-provider winsock-provider examples c-mutants
	$(SWIFT) build -c release
	.build/release/teardown-bench suite --teardown .build/release/teardown
	.build/release/teardown-bench power --teardown .build/release/teardown --c-mutants .build/c-mutants
	.build/release/teardown-bench wire --teardown .build/release/teardown
	.build/release/teardown-bench gaps --teardown .build/release/teardown
	.build/release/teardown-bench faults
	.build/release/teardown-bench providers --teardown .build/release/teardown --java '$(JAVA_PROVIDER:exec:%=%)' \
	  --wine $(WINSOCK_PROVIDER:exec:%=%); status=$$?; Examples/winsock-provider/winsock-provider.sh --stop; exit $$status

fixtures: build
	TEARDOWN_RECORD_FIXTURES=$(CURDIR)/captures $(SWIFT) test --skip-build --filter 'Fixtures.live|Tcpdump.live'

# A posix run (which fails cases) rendered by headless Chromium: the report as a reader sees it.
SCREENSHOT_CASES := --cases 'pend.accept*' --cases pend.receive-buffer --cases 'mid.graceful*' --cases 'fault.*' \
  --cases 'linger.abortive[payload=64KiB,blocking=true,role=client,family=ipv4]'
screenshot: build
	@command -v chromium >/dev/null || { echo "teardown: chromium is missing; make deps installs it (as root)" >&2; exit 1; }
	rm -rf .build/screenshot
	.build/debug/teardown run --provider posix $(SCREENSHOT_CASES) --report-dir .build/screenshot || [ $$? = 1 ]
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=.build/screenshot/profile \
	  --window-size=1400,3400 --screenshot=$(CURDIR)/.build/screenshot/report-posix.png file://$(CURDIR)/.build/screenshot/report.html 2>/dev/null
	@echo "teardown: .build/screenshot/report-posix.png (the report: .build/screenshot/report.html); copy it over docs/images/report-posix.png to change the README's picture"

# libFuzzer on each reader of files others write, FUZZ_SECONDS each (two at a time on two cores). The seeds are the
# committed corpus (Tests/Fuzz/corpus, and the suite's cases); what the fuzzer finds new is kept in .build-fuzz/corpus.
# A crash stops the target and leaves its input as .build-fuzz/crash-TARGET-*: copy it into Tests/Fuzz/corpus/TARGET,
# where the tests replay it from then on.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := capture scenario faults expectations
FUZZ_SEEDS_scenario := conformance/cases
fuzz: deps
	$(SWIFT) build -c release --scratch-path .build-fuzz --product teardown-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
	@for target in $(FUZZ_TARGETS); do mkdir -p .build-fuzz/corpus/$$target; done
	@status=0; \
	run() { TEARDOWN_FUZZ_TARGET=$$1 .build-fuzz/release/teardown-fuzz .build-fuzz/corpus/$$1 Tests/Fuzz/corpus/$$1 $(FUZZ_SEEDS_$$1) \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix=.build-fuzz/crash-$$1- > .build-fuzz/$$1.log 2>&1; }; \
	run capture & run scenario & wait; run faults & run expectations & wait; \
	for target in $(FUZZ_TARGETS); do \
	  runs=$$(grep -o 'stat::number_of_executed_units: *[0-9]*' .build-fuzz/$$target.log | grep -o '[0-9]*$$'); \
	  corpus=$$(ls .build-fuzz/corpus/$$target | wc -l); \
	  crashes=$$(ls .build-fuzz/crash-$$target-* 2>/dev/null | wc -l); \
	  echo "teardown: fuzz $$target: $${runs:-?} executions in $(FUZZ_SECONDS) s, corpus $$corpus new inputs, $$crashes crashes or hangs"; \
	  if [ "$$crashes" != 0 ] || ! grep -q 'Done [0-9]* runs' .build-fuzz/$$target.log; then tail -30 .build-fuzz/$$target.log; status=1; fi; \
	done; exit $$status

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

clean:
	rm -rf .build
