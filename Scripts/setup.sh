#!/usr/bin/env bash
# Installs the system libraries Grain builds against, if they are missing (Debian/Ubuntu), and
# makes sure apt's package lists know the two packages Examples/TrainThenDetect fetches its
# photographs from (`apt-get download`, no installation). Idempotent: does nothing when everything
# is present. Needs root (or sudo) only to install or to update the package lists.
set -euo pipefail
packages=(libopenblas-dev liblapacke-dev libjpeg-dev libpng-dev pkg-config)
photo_packages=(mate-backgrounds python3-skimage)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
lists_known=1
apt-cache show "${photo_packages[@]}" >/dev/null 2>&1 || lists_known=0
[ ${#missing[@]} -eq 0 ] && [ $lists_known -eq 1 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2; exit 1
  fi
  echo "setup: apt's package lists do not know ${photo_packages[*]}; run 'apt-get update' as root (only the example's photo download needs them)" >&2
  exit 0
fi
echo "setup: updating apt's package lists" >&2
"${sudo[@]}" apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
