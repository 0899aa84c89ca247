#!/usr/bin/env bash
# One-time set-up on a fresh Debian 12 machine (idempotent, fast when already done):
#   pnpm 12.4.2, PowerShell 7.6.9 as a .NET global tool, the workspace's packages, and a build.
#   --peers also installs the Debian packages the real-peer tests use (OpenSSH server, podman, runc,
#   debootstrap, an MIT KDC and faketime for the Kerberos tests, the OMI build's compilers and headers) and builds
#   the OMI WS-Management peer once per source change (scripts/omi-peer.sh, about 4 minutes idle); the tests'
#   globalSetups start and stop the peers themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

want_peers=0
for a in "$@"; do [ "$a" = "--peers" ] && want_peers=1; done

export PATH="$PATH:$HOME/.dotnet/tools"
export npm_config_nodedir=/usr   # ssh2's native crypto builds against the system Node headers
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if [ "$want_peers" = 1 ]; then
  need=()
  # OMI (scripts/omi-peer.sh): gawk libpam0g-dev libssl-dev libkrb5-dev pkg-config cmake g++ make patch
  for p in openssh-server podman runc debootstrap openssl gss-ntlmssp python3-gssapi \
    krb5-kdc krb5-admin-server krb5-user faketime \
    gawk libpam0g-dev libssl-dev libkrb5-dev pkg-config cmake g++ make patch; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "12.4.2" ]; then
  echo "setup: installing pnpm 12.4.2"
  npm i -g pnpm@12.4.2 >/dev/null 2>&1
fi

if ! command -v pwsh >/dev/null 2>&1 || ! pwsh -NoProfile -NonInteractive -c '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | grep -q '^7\.6\.9$'; then
  echo "setup: installing PowerShell 7.6.9 (dotnet global tool)"
  dotnet tool uninstall --global PowerShell >/dev/null 2>&1 || true
  dotnet tool install --global PowerShell --version 7.6.9 >/dev/null
fi

omi_build=""
if [ "$want_peers" = 1 ]; then
  # In the background while the workspace installs and builds; waited for at the end.
  bash scripts/omi-peer.sh build >/dev/null &
  omi_build=$!
fi

if [ "${CI:-}" = "true" ]; then
  pnpm install --frozen-lockfile
else
  pnpm install
fi
pnpm -r build
if [ -n "$omi_build" ] && ! wait "$omi_build"; then
  echo "setup: the OMI peer build failed (see above)" >&2
  exit 1
fi
echo "setup: done (pwsh $(pwsh -NoProfile -NonInteractive -c '$PSVersionTable.PSVersion.ToString()'), pnpm $(pnpm --version))"
