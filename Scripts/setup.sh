#!/usr/bin/env bash
# Installs the system libraries Grain builds against, if they are missing (Debian/Ubuntu).
# Idempotent: does nothing when everything is present. Needs root (or sudo) only to install.
set -euo pipefail
packages=(libopenblas-dev liblapacke-dev libjpeg-dev libpng-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  echo "setup: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2; exit 1
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
