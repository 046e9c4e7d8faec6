# Entry points for people; CMake does the building.
#   make fuzz   set up, build, fuzz the seed corpus
#   make test   set up, build, run every test
#   make build  the optimized tools in build/bin
#   make deps   check for and install the Debian packages

SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
SANITIZE_BUILD ?= build/sanitize
CMAKE_COMPILERS := -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: deps build sanitize test fuzz bench clean format

deps:
	@tools/deps.sh

build: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_COMPILERS)
	cmake --build $(BUILD) -j $(JOBS)

sanitize: deps
	@[ -f $(SANITIZE_BUILD)/CMakeCache.txt ] || cmake -S . -B $(SANITIZE_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOWDIFF_SANITIZE=ON $(CMAKE_COMPILERS)
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)

# Every test runs twice: in the optimized build (what users run) and under
# ASan+UBSan (what must never report).
test: build sanitize
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(SANITIZE_BUILD) && ctest --output-on-failure -j $(JOBS)

fuzz: build
	@echo "The libFuzzer target arrives with the fuzzer issue; until then 'make fuzz' replays the seed corpus."
	$(BUILD)/bin/shadowdiff replay corpus/seeds

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
