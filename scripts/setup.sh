#!/usr/bin/env bash
# Installs what npm cannot (chromium, libvulkan1, a CPU Vulkan driver, optionally python3-torch) with
# apt-get when missing, then the npm dependencies. Safe to run again: it skips what is already there.
#   bash scripts/setup.sh            system packages + npm ci
#   KILN_WITH_TORCH=1 bash ...       also python3-torch (only needed to regenerate test fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

apt_ok=1
if ! command -v apt-get >/dev/null 2>&1; then apt_ok=0; fi

need=()
for p in libvulkan1 chromium; do have_pkg "$p" || need+=("$p"); done
if [ "${KILN_WITH_TORCH:-0}" = 1 ] && ! have_pkg python3-torch; then need+=(python3-torch); fi

# lavapipe >= 24: Debian bookworm ships Mesa 22 (too old for Dawn); bookworm-backports has 24+.
lavapipe_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^[0-9]+://; s/[^0-9].*$//'
}
want_lavapipe=0
v=$(lavapipe_version || true)
if [ -z "$v" ] || [ "$v" -lt 24 ]; then want_lavapipe=1; fi

if [ ${#need[@]} -gt 0 ] || [ $want_lavapipe = 1 ]; then
  if [ $apt_ok = 0 ] || { [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; }; then
    say "missing system packages: ${need[*]} ${want_lavapipe:+mesa-vulkan-drivers(>=24)}"
    say "install them as root (Debian: apt-get install libvulkan1 chromium; mesa-vulkan-drivers from bookworm-backports)"
    say "Kiln still runs in Node with the SwiftShader ICD that chromium ships, if chromium is present."
    exit 1
  fi
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  if [ $want_lavapipe = 1 ] && [ "$codename" = bookworm ]; then
    # Add backports from the mirror this machine is already configured with; never a hard-coded host.
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      mirror=""
      if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
      fi
      if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
        mirror=$(awk '/^deb /{for(i=2;i<=NF;i++) if ($i ~ /^(https?|file|ftp):/) {print $i; exit}}' /etc/apt/sources.list)
      fi
      if [ -n "$mirror" ]; then
        say "adding bookworm-backports from $mirror"
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
          "$mirror" | $SUDO tee /etc/apt/sources.list.d/kiln-backports.sources >/dev/null
      else
        say "no Debian mirror found in apt sources; skipping lavapipe (SwiftShader fallback will be used)"
      fi
    fi
  fi
  say "apt-get update"
  $SUDO apt-get update -qq || say "apt-get update reported errors; continuing"
  export DEBIAN_FRONTEND=noninteractive
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
  if [ $want_lavapipe = 1 ]; then
    if [ "$codename" = bookworm ]; then
      say "installing mesa-vulkan-drivers from bookworm-backports"
      $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers \
        || say "lavapipe from backports failed; the SwiftShader ICD from chromium will be used"
    else
      $SUDO apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers || true
    fi
  fi
fi

if [ -f package-lock.json ]; then
  say "npm ci"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
else
  say "npm install"
  PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
fi
say "done"
