#!/usr/bin/env bash
# Checks for the Debian packages shadowdiff builds with and installs the
# missing ones (as root, or through sudo). `deps.sh afl` adds AFL++, which
# only make fuzz ENGINE=afl uses: CI and make test do without it.
set -euo pipefail

# python3-protobuf writes the fuzzing dictionary from the case format's
# descriptor, python3-yaml checks the workflows, zip and unzip pack and
# unpack the ClusterFuzzLite seed corpus.
packages=(
  cmake ninja-build clang-14 libclang-rt-14-dev llvm-14
  libprotobuf-dev protobuf-compiler libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev python3
  python3-protobuf python3-yaml zip unzip
)
for extra in "$@"; do
  case $extra in
    afl) packages+=(afl++) ;;
    *) echo "deps.sh: unknown extra '$extra' (known: afl)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "make deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
