#!/usr/bin/env bash
# Install the Debian packages ksentry needs to build, test and run.
# Idempotent and quiet: when everything is there it prints nothing and does
# not touch apt.  Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
	build-essential meson ninja-build pkg-config  # toolchain
	libelf-dev                                    # the ELF loader (libelf)
	libcriterion-dev                              # unit tests
	musl-tools                                    # static musl guest programs
	busybox-static                                # the guest userland
	libfuse3-dev fuse3                            # guest-side libfuse servers, native FUSE
	strace                                        # the one-exit-per-syscall test
	clang libclang-rt-14-dev                      # the FUSE fuzz target (libFuzzer)
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "ksentry: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
