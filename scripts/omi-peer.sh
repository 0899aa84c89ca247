#!/usr/bin/env bash
# The OMI peer: Microsoft's WS-Management server (microsoft/omi) hosting PowerShell 7's own WSMan plugin
# (PowerShell/psl-omi-provider), built by ../shared/peers/omi/build.sh into a cache directory named for the
# hash of its inputs, so a machine builds it once per change of sources.
#   omi-peer.sh dir                 print the build directory for the current sources (it may not be built yet)
#   omi-peer.sh build               build it unless already complete (needs root: sudo when not root); print it
#   omi-peer.sh run [HTTP [HTTPS]]  build if needed, then run the server in the foreground on 127.0.0.1 ports
#                                   5985 and 5986 (or the ones given) with user psuser / Passw0rd!; Ctrl+C stops it
# Environment: PSREMOTE_OMI_SOURCES (default ../shared/peers/omi beside the checkout), PSREMOTE_OMI_CACHE
# (default /opt/psremote-peers, beside the other peers: the per-user agents run as psuser and must read the
# build, which a home directory with mode 700 would forbid).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${PSREMOTE_OMI_SOURCES:-$ROOT/../shared/peers/omi}
CACHE=${PSREMOTE_OMI_CACHE:-/opt/psremote-peers}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

die() {
  echo "omi-peer: $*" >&2
  exit 1
}

sources_check() {
  if [ ! -f "$SRC/build.sh" ] || ! ls "$SRC"/omi-*.tar.gz "$SRC"/psl-omi-provider-*.tar.gz >/dev/null 2>&1; then
    die "the OMI peer's sources are not at $SRC (build.sh, omi-*.tar.gz, psl-omi-provider-*.tar.gz,
  omi-httpauth-overflow.patch, patcher/). They come with ../shared beside the checkout: put it there, or point
  PSREMOTE_OMI_SOURCES at a copy of its peers/omi. The tarballs are the upstream commits microsoft/omi d2c06c1
  and PowerShell/psl-omi-provider 59ab42f (MIT); build.sh, the auth-header patch (OMI crashes on every
  NTLM/Kerberos login without it) and the PowerShell patcher are not upstream."
  fi
}

# The build's inputs: the script, both tarballs, the patches, the patcher, and the PowerShell version whose
# files become the provider's PSHOME.
build_dir() {
  sources_check
  local pwsh_version
  pwsh_version=$(ls "$HOME/.dotnet/tools/.store/powershell/" 2>/dev/null | sort -V | tail -1)
  [ -n "$pwsh_version" ] || die "PowerShell is not installed as a dotnet global tool (run scripts/setup.sh first)"
  local hash
  hash=$(cd "$SRC" && {
    find . -type f \( -name build.sh -o -name '*.tar.gz' -o -name '*.patch' -o -path './patcher/*' \) -print0 |
      sort -z | xargs -0 sha256sum
    echo "powershell $pwsh_version"
  } | sha256sum | cut -c1-16)
  echo "$CACHE/omi-$hash"
}

# True when a build completed: build.sh ran to its end and left the server, the provider and the PSHOME.
complete() {
  local w=$1
  [ -f "$w/.complete" ] && [ -x "$w/psl/omi/Unix/output/bin/omiserver" ] &&
    [ -f "$w/psl/src/libpsrpomiprov.so" ] && [ -f "$w/pshome/System.Management.Automation.dll" ]
}

# State outside the build directory (build.sh sets it too; this keeps it when a build is reused): the engine's
# user, the test user and its password, the PAM service.
system_state() {
  id omi >/dev/null 2>&1 || $SUDO useradd -r -M -s /usr/sbin/nologin omi
  id psuser >/dev/null 2>&1 || $SUDO useradd -m -s /bin/bash psuser
  echo 'psuser:Passw0rd!' | $SUDO chpasswd
  if [ ! -f /etc/pam.d/omi ]; then
    printf 'auth       include      common-auth\naccount    include      common-account\n' | $SUDO tee /etc/pam.d/omi >/dev/null
  fi
}

build() {
  local w
  w=$(build_dir)
  if complete "$w"; then
    system_state
    echo "$w"
    return
  fi
  local t0=$SECONDS
  echo "omi-peer: building OMI and the PowerShell WSMan provider into $w (about 4 minutes; log $w.log)" >&2
  $SUDO mkdir -p "$CACHE"
  $SUDO chmod 755 "$CACHE"
  # build.sh finds pwsh and the dotnet tool store through HOME and PATH: keep the caller's.
  if ! $SUDO env HOME="$HOME" PATH="$PATH:$HOME/.dotnet/tools" bash "$SRC/build.sh" "$w" 2>&1 | $SUDO tee "$w.log" >/dev/null; then
    tail -n 30 "$w.log" >&2 || true
    die "the OMI build failed (log: $w.log; the steps' logs: $w/*.log)"
  fi
  $SUDO touch "$w/.complete"
  echo "omi-peer: built in $((SECONDS - t0)) s" >&2
  echo "$w"
}

run() {
  local http=${1:-5985} https=${2:-5986} w
  w=$(build)
  local o=$w/psl/omi/Unix/output
  for p in "$http" "$https"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "port $p on 127.0.0.1 is in use (another OMI peer or WinRM server?)"
    fi
  done
  echo "omi-peer: OMI + PowerShell $(basename "$(ls -d "$HOME"/.dotnet/tools/.store/powershell/* | sort -V | tail -1)") WSMan plugin on http://127.0.0.1:$http/wsman and https://127.0.0.1:$https/wsman"
  echo "omi-peer: user psuser, password Passw0rd!; OMI's self-signed certificate: $o/etc/ssl/certs/omi.pem"
  echo "omi-peer: Ctrl+C stops it"
  cd "$w/psl"
  $SUDO rm -f "$o/var/run/omiserver.pid"
  # In the background with a trap, not exec: omiserver ignores SIGINT where the shell started it in the
  # background, and on SIGTERM it stops its engine and the per-user agents too.
  $SUDO env LD_LIBRARY_PATH="$o/lib" CORE_ROOT="$w/pshome" "$o/bin/omiserver" --httpport "$http" --httpsport "$https" &
  local pid=$!
  local rc=0 asked=0
  trap 'asked=1; kill -TERM "$pid" 2>/dev/null || true' INT TERM HUP
  wait "$pid" || rc=$?
  # wait returns early when a trapped signal arrives: wait again for the server to finish stopping.
  wait "$pid" 2>/dev/null || true
  echo "omi-peer: stopped"
  [ "$asked" = 1 ] && return 0
  return "$rc"
}

case "${1:-}" in
dir) build_dir ;;
build) build ;;
run) run "${@:2}" ;;
*) die "usage: omi-peer.sh dir | build | run [HTTP_PORT [HTTPS_PORT]]" ;;
esac
