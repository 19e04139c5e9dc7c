#!/usr/bin/env bash
# Installs what webgpu-transfer needs on a fresh Debian machine (12 or 13), then the npm packages.
#   - libvulkan1:            the Vulkan loader Dawn opens (libvulkan.so.1)
#   - chromium:              ships SwiftShader (libvk_swiftshader.so + ICD json) and the headless browser tests use
#   - libegl1 libegl-mesa0 libgles2: Mesa llvmpipe through GLES (the compatibility adapter)
#   - libegl-dev:            Dawn opens EGL as libEGL.so, a name only this package links (libegl1 has libEGL.so.1)
#   - fonts-dejavu-core:     the font the experiment charts (SVG -> PNG with resvg) are drawn in
#   - libopenblas0-pthread:  an optimised BLAS for the PyTorch CPU peer of `npm run bench` (Debian's python3-torch
#                            otherwise runs on the reference libblas3, 15x slower at a 1024^3 matmul)
# Safe to re-run: it installs only what is missing. Set WGT_SKIP_APT=1 to skip the system packages.
# WGT_MESA_BACKPORTS=1 (Debian 13 only) also installs Mesa from trixie-backports (26.x), adding that source where it is
# missing: its llvmpipe loads storage about 2.5x cheaper than Debian 13's Mesa 25.0 or Debian 12's 22.3, and the
# matmul and LeNet step run about twice as fast (docs/adapters.md, docs/kernel-measurements.md#mesa-versions).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if [ "${WGT_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null; then
  for p in libvulkan1 chromium libegl1 libegl-mesa0 libgles2 libegl-dev fonts-dejavu-core libopenblas0-pthread; do
    have_pkg "$p" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]} (Debian $(cat /etc/debian_version 2>/dev/null || echo '?'))"
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  if [ "${WGT_MESA_BACKPORTS:-0}" = 1 ]; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ "$codename" != trixie ]; then
      echo "setup: WGT_MESA_BACKPORTS=1 needs Debian 13 (trixie), whose backports carry Mesa 26; this is '$codename'" >&2
      exit 1
    fi
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    if ! grep -rqs 'trixie-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "setup: adding trixie-backports to /etc/apt/sources.list.d/trixie-backports.list"
      echo 'deb http://deb.debian.org/debian trixie-backports main' |
        $sudo_cmd tee /etc/apt/sources.list.d/trixie-backports.list >/dev/null
    fi
    $sudo_cmd apt-get update -qq
    echo "setup: installing Mesa from trixie-backports"
    $sudo_cmd apt-get install -y -qq --no-install-recommends -t trixie-backports \
      libegl1 libegl-mesa0 libgles2 libegl-dev libgl1-mesa-dri mesa-libgallium >/dev/null
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build
node dist/apps/cli/main.js adapters || true
