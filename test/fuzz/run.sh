#!/usr/bin/env bash
# Build the FUSE fuzz target with clang (libFuzzer, ASan, UBSan) and run
# it for a bounded time over the seed corpus.
#   run.sh SOURCE_ROOT BUILD_DIR WORKDIR SECONDS
# (BUILD_DIR: a meson build, for its generated sources.)  By hand, longer:
#   test/fuzz/run.sh . build /tmp/fz 600
set -euo pipefail
src=$1 build=$2 work=$3 secs=$4
command -v clang >/dev/null || { echo "clang is missing (scripts/deps.sh installs it)"; exit 1; }
mkdir -p "$work/corpus"
cp -n "$src"/test/fuzz/seeds/* "$work/corpus/" 2>/dev/null || true
# Everything the FUSE client stands on, instrumented; not the VMM.
srcs=("$src"/fuse/dev.c "$src"/fuse/fs.c "$src"/kernel/*.c "$src"/kernel/vfs/*.c
      "$src"/platform/*.c "$build"/kernel/vdso_image.c "$build"/abi/syscall_names.c
      "$src"/test/fuzz/fuzz_fuse.c)
clang -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DKSENTRY_VERSION='"fuzz"' -O1 -g \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wno-unused-command-line-argument -I"$src" \
	"${srcs[@]}" -lelf -lpthread -o "$work/fuzz_fuse"
# -timeout: an input that hangs is a bug (no wait may outlive the abort).
"$work/fuzz_fuse" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
	-print_final_stats=1 "$work/corpus" 2>&1 | tail -25
