#!/usr/bin/env bash
# The main job: install what is needed, build ksentry, and run it.
# Today that is the platform self-check and the version; once the VMM lands
# (issue 3) this boots a sandboxed demo.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null

./build/vmm/ksentry --version
./build/vmm/ksentry selfcheck
