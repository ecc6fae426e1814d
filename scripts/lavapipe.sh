#!/usr/bin/env bash
# Mesa lavapipe (a Vulkan CPU driver whose adapter has "shader-f16") for Deno's WebGPU: fetched once
# with `apt-get download` into a cache dir and extracted there, nothing installed system-wide.
# Usage: bash scripts/lavapipe.sh             prints the env to use (eval "$(bash scripts/lavapipe.sh)")
#        bash scripts/lavapipe.sh CMD ARGS...  runs CMD under it
# Exit 3 when lavapipe cannot be had (no apt-get, archive unreachable). LAVAPIPE_DIR: cache dir.
set -euo pipefail
DIR=${LAVAPIPE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tracegrad/lavapipe}
ICD=$DIR/lvp_icd.json
# the multiarch library folder (usr/lib/x86_64-linux-gnu on amd64)
lib_dir() { dirname "$(find "$DIR/root" -name libvulkan_lvp.so 2>/dev/null | head -1)"; }

install() {
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || {
    echo "lavapipe: no apt-get/dpkg here" >&2
    return 3
  }
  local tmp
  tmp=$(mktemp -d)
  # apt-get download warns (but works) when the _apt user cannot write the folder
  if ! (cd "$tmp" && apt-get download mesa-vulkan-drivers libvulkan1) >"$tmp/apt.log" 2>&1; then
    cat "$tmp/apt.log" >&2
    echo "lavapipe: apt-get download mesa-vulkan-drivers libvulkan1 failed" >&2
    rm -rf "$tmp"
    return 3
  fi
  mkdir -p "$DIR"
  rm -rf "$DIR/root"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$DIR/root"; done
  rm -rf "$tmp"
  LIB=$(lib_dir)
  [ -f "$LIB/libvulkan_lvp.so" ] || {
    echo "lavapipe: libvulkan_lvp.so missing from the packages" >&2
    return 3
  }
  printf '{"file_format_version":"1.0.0","ICD":{"api_version":"1.1.0","library_path":"%s"}}\n' \
    "$LIB/libvulkan_lvp.so" >"$ICD"
}

LIB=$(lib_dir)
if [ ! -f "$ICD" ] || [ ! -f "$LIB/libvulkan_lvp.so" ]; then install || exit 3; fi
export VK_ICD_FILENAMES=$ICD
export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# tests/f16_webgpu_test.ts then requires the adapter to have shader-f16
export TRACEGRAD_LAVAPIPE=1
if [ $# -eq 0 ]; then
  echo "export VK_ICD_FILENAMES='$VK_ICD_FILENAMES' LD_LIBRARY_PATH='$LD_LIBRARY_PATH' TRACEGRAD_LAVAPIPE=1"
else
  exec "$@"
fi
