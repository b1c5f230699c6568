# semsearch — thin wrapper over CMake so that set-up is two commands:
#   make demo   builds and runs the main job on the bundled all-MiniLM-L6-v2
#   make test   builds and runs the test suite (release, ASan+UBSan, then the
#               "concurrent" tests under ThreadSanitizer)
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)

.PHONY: all deps model build demo test test-plain test-asan bench clean

all: build

deps:
	@scripts/install-deps.sh

model:
	@scripts/fetch-model.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build model
	$(BUILD)/semsearch demo

test: deps model
	@scripts/run-tests.sh $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)

bench: build model
	cmake --build $(BUILD) -j $(JOBS) --target bench_embed
	bench/embed.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz

# ---- fuzzing (fuzz/): `make fuzz` builds the libFuzzer targets with clang and
# runs each for FUZZ_SECONDS (one after another, niced); FUZZ_TARGETS picks a
# subset, e.g. make fuzz FUZZ_TARGETS="index vecio" FUZZ_SECONDS=60.
# Findings land in $(FUZZ_BUILD)/fuzz-findings/TARGET/.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-build
fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DSEMSEARCH_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s =="; \
	  nice -n 15 fuzz/run.sh $(FUZZ_BUILD) $$t -max_total_time=$(FUZZ_SECONDS); \
	done
