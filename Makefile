# Entry points for people; CMake does the building, and CMakePresets.json
# holds the settings of each tree.
#   make fuzz           set up, build, fuzz the seed corpus (FUZZ_SECONDS, JOBS;
#                       ENGINE=libfuzzer, or afl for AFL++; MMU=NAME[:SWITCHES],
#                       BASELINE_MMU=NAME[:SWITCHES], HOST_TLB=tagged|untagged,
#                       ORACLE=strict|architectural,
#                       KNOWN=FILE, as SHADOWDIFF_* for the fuzzer and shadowdiff)
#   make test           set up, build, run every test in both builds
#   make build          build/bin: shadowdiff (optimized) and mmu_diff_fuzzer
#   make coverage       source-based coverage of the seeds and fuzz-corpus/
#   make corpus-merge   shrink fuzz-corpus/ to what adds coverage
#   make deps           check for and install the Debian packages
#
# Two trees are always built: build/ is optimized without sanitizers (what
# users run, benchmarks); build/sanitized carries ASan, UBSan and libFuzzer's
# coverage instrumentation (the fuzzers, and every test once more under
# sanitizers). make coverage builds build/coverage-tree and make fuzz
# ENGINE=afl builds build/afl.

SHELL := /bin/bash
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
ENGINE ?= libfuzzer
ENGINES := libfuzzer afl
COVERAGE_CORPUS ?= corpus/seeds $(wildcard fuzz-corpus)
# The run settings of make fuzz and make zoo, handed to the fuzzer and to
# shadowdiff (which read them from the environment) only when given.
RUN_ENV := $(if $(MMU),SHADOWDIFF_MMU=$(MMU)) \
	$(if $(BASELINE_MMU),SHADOWDIFF_BASELINE_MMU=$(BASELINE_MMU)) \
	$(if $(HOST_TLB),SHADOWDIFF_HOST_TLB=$(HOST_TLB)) \
	$(if $(ORACLE),SHADOWDIFF_ORACLE=$(ORACLE)) \
	$(if $(KNOWN),SHADOWDIFF_KNOWN=$(abspath $(KNOWN)))

.PHONY: deps build test fuzz fuzz-libfuzzer fuzz-afl unknown-engine coverage \
	corpus-merge zoo bench clean format

deps:
	@tools/deps.sh

build: deps
	@[ -f build/CMakeCache.txt ] || cmake --preset release
	cmake --build --preset release -j $(JOBS)
	@[ -f build/sanitized/CMakeCache.txt ] || cmake --preset fuzz
	cmake --build --preset fuzz -j $(JOBS)
	cp build/sanitized/bin/mmu_diff_fuzzer build/sanitized/bin/mmu_diff_fuzzer_baseline \
	   build/sanitized/bin/mmu_diff_fuzzer.dict build/sanitized/bin/mmu_diff_fuzzer.options \
	   build/bin/
	cp build/bin/mmu_diff_fuzzer.options build/bin/mmu_diff_fuzzer_baseline.options

test: build
	ctest --preset release -j $(JOBS)
	ctest --preset fuzz -j $(JOBS)

fuzz: $(if $(filter $(ENGINE),$(ENGINES)),fuzz-$(ENGINE),unknown-engine)

fuzz-libfuzzer: build
	$(RUN_ENV) FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) tools/fuzz.sh

fuzz-afl: deps
	@tools/deps.sh afl
	@[ -f build/afl/CMakeCache.txt ] || cmake --preset afl
	cmake --build --preset afl -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/afl.sh

unknown-engine:
	@echo "make fuzz: unknown ENGINE=$(ENGINE) (use one of: $(ENGINES))" >&2; exit 2

coverage: deps
	@[ -f build/coverage-tree/CMakeCache.txt ] || cmake --preset coverage
	cmake --build --preset coverage --target shadowdiff -j $(JOBS)
	COVERAGE_CORPUS="$(COVERAGE_CORPUS)" tools/coverage.sh

corpus-merge:
	tools/corpus_merge.sh

BENCH_SECONDS ?= 60
ZOO_RUNS ?= 5
ZOO_SECONDS ?= 120
zoo: build
	$(RUN_ENV) tools/zoo.py --runs $(ZOO_RUNS) --seconds $(ZOO_SECONDS) --jobs $(JOBS)

bench: build
	build/bin/mmu_bench
	tools/c_example_throughput.sh $(BENCH_SECONDS)
	tools/oracle_throughput.sh $(BENCH_SECONDS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build
