#!/usr/bin/env bash
# Installs what npm cannot (chromium, libvulkan1, a CPU Vulkan driver, optionally python3-torch) with
# apt-get when missing, then the npm dependencies. Safe to run again: it skips what is already there.
#   bash scripts/setup.sh            system packages + npm ci
#   KILN_WITH_TORCH=1 bash ...       also python3-torch (to regenerate test fixtures, and the benchmark's PyTorch
#                                    column) with OpenBLAS: without it Debian's torch runs on the reference BLAS,
#                                    30-40x slower on matmul, which would make the PyTorch column dishonest
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
LOG=$(mktemp -t kiln-setup.XXXXXX.log)
# apt's and dpkg's chatter goes to a log; its tail is shown only when a step fails.
quiet() {
  if ! "$@" >>"$LOG" 2>&1; then
    say "failed: $*"; tail -n 30 "$LOG" >&2; return 1
  fi
}
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

apt_ok=1
if ! command -v apt-get >/dev/null 2>&1; then apt_ok=0; fi

need=()
for p in libvulkan1 chromium; do have_pkg "$p" || need+=("$p"); done
if [ "${KILN_WITH_TORCH:-0}" = 1 ]; then
  have_pkg python3-torch || need+=(python3-torch)
  # An optimised libblas.so.3 alternative (priority 95 over the reference BLAS's 10), threaded with OpenMP
  # like torch itself.
  have_pkg libopenblas0-openmp || need+=(libopenblas0-openmp)
fi

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
  quiet $SUDO apt-get update || say "apt-get update reported errors; continuing"
  export DEBIAN_FRONTEND=noninteractive
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    quiet $SUDO apt-get install -y --no-install-recommends "${need[@]}" || {
      say "could not install ${need[*]}; install them by hand (sudo apt-get install ${need[*]}) and run this again"
      exit 1
    }
  fi
  if [ $want_lavapipe = 1 ]; then
    if [ "$codename" = bookworm ]; then
      say "installing mesa-vulkan-drivers from bookworm-backports"
      quiet $SUDO apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers \
        || say "lavapipe from backports failed; Kiln will use the SwiftShader ICD that chromium ships (slower)"
    else
      quiet $SUDO apt-get install -y --no-install-recommends mesa-vulkan-drivers || true
    fi
  fi
fi

if [ -f package-lock.json ]; then
  say "npm ci"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  [ -d node_modules/webgpu ] || { say "npm ci failed"; exit 1; }
else
  say "npm install"
  PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
fi
node scripts/gen-shaders.mjs
if [ "${KILN_WITH_TORCH:-0}" = 1 ] && command -v update-alternatives >/dev/null 2>&1; then
  # The alternative is named after the multiarch triplet (libblas.so.3-x86_64-linux-gnu, ...-aarch64-...).
  alt=$(cd /etc/alternatives 2>/dev/null && ls -d libblas.so.3-* 2>/dev/null | head -n 1 || true)
  blas=$( [ -n "$alt" ] && update-alternatives --query "$alt" 2>/dev/null | awk '/^Value:/{print $2}' || true)
  say "libblas.so.3 for PyTorch: ${blas:-unknown}"
  case "$blas" in
    *openblas*|*blis*|*mkl*) ;;
    *) say "warning: PyTorch will use the reference BLAS (matmul 30-40x slower); run: $SUDO update-alternatives --auto ${alt:-libblas.so.3-<triplet>}" ;;
  esac
fi
say "done (log: $LOG)"
