# Entry points for people; CMake does the building.
#   make fuzz    set up, build, fuzz the seed corpus (FUZZ_SECONDS, JOBS)
#   make test    set up, build, run every test in both builds
#   make build   build/bin: shadowdiff (optimized) and mmu_diff_fuzzer
#   make deps    check for and install the Debian packages
#
# Two CMake trees: build/ is optimized without sanitizers (what users run,
# benchmarks); build/sanitized carries ASan, UBSan and libFuzzer's coverage
# instrumentation (the fuzzers, and every test once more under sanitizers).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
RELEASE_TREE := build
FUZZ_TREE := build/sanitized
COMPILERS := -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: deps build test fuzz zoo bench clean format

deps:
	@tools/deps.sh

build: deps
	@[ -f $(RELEASE_TREE)/CMakeCache.txt ] || cmake -S . -B $(RELEASE_TREE) $(GENERATOR) $(COMPILERS) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(RELEASE_TREE) -j $(JOBS)
	@[ -f $(FUZZ_TREE)/CMakeCache.txt ] || cmake -S . -B $(FUZZ_TREE) $(GENERATOR) $(COMPILERS) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOWDIFF_SANITIZE=ON -DSHADOWDIFF_FUZZER=ON
	cmake --build $(FUZZ_TREE) -j $(JOBS)
	cp $(FUZZ_TREE)/bin/mmu_diff_fuzzer $(FUZZ_TREE)/bin/mmu_diff_fuzzer_baseline $(RELEASE_TREE)/bin/

test: build
	cd $(RELEASE_TREE) && ctest --output-on-failure -j $(JOBS)
	cd $(FUZZ_TREE) && ctest --output-on-failure -j $(JOBS)

fuzz: build
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) tools/fuzz.sh

ZOO_RUNS ?= 5
ZOO_SECONDS ?= 120
zoo: build
	tools/zoo.py --runs $(ZOO_RUNS) --seconds $(ZOO_SECONDS) --jobs $(JOBS)

bench: build
	$(RELEASE_TREE)/bin/mmu_bench

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(RELEASE_TREE)
