#!/bin/sh
# Build the index and core library sources + the concurrency test with
# ThreadSanitizer and run it. Usage: tests/index/run-tsan.sh [BUILD_DIR]  (default build-tsan)
set -e
cd "$(dirname "$0")/../.."
OUT=${1:-build-tsan}
mkdir -p "$OUT"
BLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread
CBLAS=/usr/include/x86_64-linux-gnu/openblas-pthread
gcc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O1 -g -fsanitize=thread -fno-omit-frame-pointer \
  -Iinclude -Isrc -Itests -I"$CBLAS" \
  src/index/*.c src/core/*.c src/kernels/half.c src/kernels/ops.c \
  tests/index/test_index_concurrent.c \
  -o "$OUT/test_index_concurrent_tsan" "$BLAS/libopenblas.so" -Wl,-rpath,"$BLAS" -lcjson -lpthread -lm
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$OUT/test_index_concurrent_tsan"
