#!/usr/bin/env bash
# Makes sure what webgpu-rl needs is present; a quick no-op when it is.
# Linux needs a Vulkan driver for Dawn; macOS and Windows use Metal / D3D12.
#   bash scripts/setup.sh            node_modules + a Vulkan driver for Dawn
#   bash scripts/setup.sh --browser  also /usr/bin/chromium (Studio e2e tests, browser benchmark)
# Vulkan: a GPU driver when one is installed, else Mesa lavapipe (CPU) from
# bookworm-backports, since Debian 12's own Mesa 22.3 is rejected by Dawn.
# Installs with apt-get (Debian/Ubuntu, as root); otherwise prints the one
# command to run. Messages go to stderr so `npm run train -- --json` stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup: unknown option $arg (known: --browser)" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*" >&2; }

# Oldest Mesa whose lavapipe Dawn accepts (Debian 12 ships 22.3; backports 25).
MESA_MIN=24

# The system loader (Chromium carries a private copy that Dawn does not see).
has_vulkan_loader() {
  [[ $(PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null) == *'libvulkan.so.1 '* ]]
}

# A GPU driver's ICD (NVIDIA's, or any vendor file under /etc/vulkan/icd.d, or
# one named by the Vulkan loader's variables). Mesa's own GPU ICDs (intel,
# radeon...) are installed with lavapipe and do not mean a GPU is present.
has_gpu_icd() {
  [[ -n "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]] && return 0
  compgen -G '/etc/vulkan/icd.d/*.json' >/dev/null && return 0
  compgen -G '/usr/share/vulkan/icd.d/nvidia_icd*.json' >/dev/null && return 0
  compgen -G '/usr/local/nvidia/share/vulkan/icd.d/*.json' >/dev/null && return 0
  return 1
}

has_recent_lavapipe() {
  compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null || return 1
  command -v dpkg-query >/dev/null || return 0
  local version
  version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) || return 0
  dpkg --compare-versions "$version" ge "$MESA_MIN"
}

need_npm=0
need_loader=0
need_lavapipe=0
need_chromium=0
[[ -f node_modules/.package-lock.json ]] || need_npm=1
if [[ $(uname -s) == Linux ]]; then
  has_vulkan_loader || need_loader=1
  if ! has_gpu_icd && ! has_recent_lavapipe; then need_lavapipe=1; fi
  if [[ $want_browser == 1 && ! -x /usr/bin/chromium && -z "${CHROME_PATH:-}" ]]; then need_chromium=1; fi
elif [[ $want_browser == 1 && -z "${CHROME_PATH:-}" ]]; then
  # Dawn uses Metal / D3D12 there; only the browser's location is unknown.
  echo "setup: set CHROME_PATH to your Chrome or Chromium executable for the browser tests" >&2
  exit 1
fi

if (( need_loader + need_lavapipe + need_chromium > 0 )); then
  packages=()
  (( need_loader )) && packages+=(libvulkan1)
  (( need_lavapipe )) && packages+=("mesa-vulkan-drivers (Mesa >= $MESA_MIN)")
  (( need_chromium )) && packages+=(chromium)
  if ! command -v apt-get >/dev/null; then
    echo "setup: missing ${packages[*]}; install a Vulkan driver (GPU, or Mesa >= $MESA_MIN lavapipe) and Chromium with your package manager, then rerun" >&2
    exit 1
  fi
  if [[ $(id -u) != 0 ]]; then
    args=$( (( want_browser )) && echo ' --browser' || true)
    echo "setup: missing ${packages[*]}; run as root: sudo bash scripts/setup.sh$args" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Debian 12 needs its backports for a recent Mesa; newer releases have one.
  mesa_from=()
  if (( need_lavapipe )) && [[ $(. /etc/os-release && echo "${VERSION_CODENAME:-}") == bookworm ]]; then
    mesa_from=(-t bookworm-backports)
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      say "adding bookworm-backports to apt sources (for Mesa >= $MESA_MIN)"
      echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
    fi
  fi
  say "installing ${packages[*]}"
  apt-get update -qq >&2
  apt_install() { apt-get install -y -qq "$@" >&2; }
  (( need_loader || need_lavapipe )) && apt_install libvulkan1
  (( need_lavapipe )) && apt_install "${mesa_from[@]}" mesa-vulkan-drivers
  (( need_chromium )) && apt_install chromium
  if (( need_lavapipe )) && ! has_recent_lavapipe; then
    echo "setup: no Mesa >= $MESA_MIN lavapipe after apt-get; install a GPU Vulkan driver or a newer mesa-vulkan-drivers by hand" >&2
    exit 1
  fi
fi

if (( need_npm )); then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
