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
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
