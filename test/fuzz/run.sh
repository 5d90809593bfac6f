#!/usr/bin/env bash
# Build the FUSE fuzz target with clang (libFuzzer, ASan, UBSan), check
# that every seed still walks the target's whole round, and fuzz for a
# bounded time over the seed corpus.  A crash, a leak, a sanitizer report
# or an input that hangs fails the run (and leaves the input in WORKDIR).
#   run.sh SOURCE_ROOT BUILD_DIR WORKDIR SECONDS
# (BUILD_DIR: a meson build, for its generated sources.)  By hand, longer:
#   test/fuzz/run.sh . build /tmp/fz 600
set -euo pipefail
src=$1 build=$2 work=$3 secs=$4
command -v clang >/dev/null || { echo "clang is missing (scripts/deps.sh installs it)"; exit 1; }
mkdir -p "$work/corpus"
python3 "$src"/test/fuzz/seeds.py "$work/seeds"
# Everything the FUSE client stands on, instrumented; not the VMM.
srcs=("$src"/fuse/dev.c "$src"/fuse/fs.c "$src"/kernel/*.c "$src"/kernel/vfs/*.c
      "$src"/platform/*.c "$build"/kernel/vdso_image.c "$build"/abi/syscall_names.c
      "$src"/test/fuzz/fuzz_fuse.c)
clang -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DKSENTRY_VERSION='"fuzz"' -O1 -g \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wno-unused-command-line-argument -I"$src" \
	"${srcs[@]}" -lelf -lpthread -o "$work/fuzz_fuse"
# A seed that no longer reaches the round's SYMLINK (opcode 6, near its
# end) has fallen out of step with the client: the fuzzer would spend its
# time short of the parsers.  Mend the seed (seeds.py) when this fails.
for seed in "$work"/seeds/*; do
	trace=$(FUZZ_FUSE_TRACE=1 "$work/fuzz_fuse" "$seed" 2>&1)
	if ! grep -q '^request opcode 6 ' <<<"$trace"; then
		echo "seed $(basename "$seed") stops short of the round's end:"
		grep '^request' <<<"$trace" | head -40
		exit 1
	fi
done
echo "$(ls "$work"/seeds | wc -l) seeds walk the whole round"
# -timeout: an input that hangs is a bug (no wait may outlive the abort).
cd "$work"
./fuzz_fuse -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
	-print_final_stats=1 corpus seeds 2>&1 | tail -25
