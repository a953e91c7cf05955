#!/usr/bin/env bash
# The version matrix: run this working tree's tests inside a Debian root per suite.
#
#   scripts/debian_matrix.sh [--fresh] [--target "demo test"] [--out DIR] SUITE...
#
# Each SUITE (bookworm, trixie, sid, ...) gets a root made by debootstrap (minbase, plus make
# and git) into which the project's own scripts/setup_system.sh installs the Debian packages
# the Makefile names: exactly what `make setup` would do on a fresh machine. That root is
# cached as a zstd tarball in ${XDG_CACHE_HOME:-~/.cache}/sbas-selector/roots/ (keyed by suite
# and package list) and restored on the next run (seconds instead of minutes). --fresh builds
# a root with nothing but make and git and no cache, so that `make setup` itself installs
# everything. The working tree (tracked and untracked files that git does not ignore; from a
# fresh clone that is the clone) and ../shared are copied in, then `make $TARGET` runs as root
# in it. Logs and a versions line per suite go to --out (default build/matrix).
#
# Needs root (debootstrap, chroot, mount), debootstrap, zstd and network access to a Debian
# mirror and PyPI. Whatever happens, everything mounted under a root is unmounted and the root
# is deleted (trap), and nothing is ever written outside the root, the cache and --out.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
fresh=0
target="test"
out="$here/build/matrix"
suites=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) fresh=1 ;;
    --target) target="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) suites+=("$1") ;;
  esac
  shift
done
[ ${#suites[@]} -gt 0 ] || { echo "usage: $0 [--fresh] [--target T] [--out DIR] SUITE..." >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "debian_matrix.sh needs root (debootstrap, chroot, mount)" >&2; exit 2; }
for tool in debootstrap zstd chroot; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install debootstrap zstd)" >&2; exit 2; }
done

# The packages the Makefile installs, so the cached root follows it.
packages=$(make -s -C "$here" --no-print-directory print-debian-packages)
key=$(printf '%s\n' "$packages" | cat - "$here/scripts/setup_system.sh" | sha256sum | cut -c1-12)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sbas-selector"
mkdir -p "$cache/roots" "$cache/pip" "$out"
# The mirror this machine's apt uses (deb.debian.org otherwise).
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

# Time limits (seconds): a hung step is killed, and the root is still cleaned up.
step_limit=${MATRIX_STEP_LIMIT:-1800}
target_limit=${MATRIX_TARGET_LIMIT:-3000}

root=""
mounted=()
kill_root_processes() {  # what still runs inside the root (Xvfb, gpg-agent...): by pid
  local pid link
  for link in /proc/[0-9]*/root; do
    pid=${link#/proc/}; pid=${pid%/root}
    [ "$(readlink "$link" 2>/dev/null)" = "$root" ] && kill -9 "$pid" 2>/dev/null || true
  done
}
cleanup() {
  local status=$?
  local i
  [ -n "$root" ] && kill_root_processes
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" 2>/dev/null || true
  done
  mounted=()
  if [ -n "$root" ] && [ -d "$root" ]; then
    if grep -q " $root/" /proc/mounts; then
      echo "still mounted under $root: not deleting it" >&2
      status=1
    else
      rm -rf --one-file-system "$root"
    fi
  fi
  root=""
  return $status
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

mount_root() {
  mount -t proc proc "$root/proc"; mounted+=("$root/proc")
  mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; mounted+=("$root/sys")
  mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev")
  mkdir -p "$root/root/.cache/pip"
  mount --bind "$cache/pip" "$root/root/.cache/pip"; mounted+=("$root/root/.cache/pip")
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  # This machine's certificate bundle (it may carry a proxy's CA) for pip inside the root.
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/root/host-ca.pem" 2>/dev/null || true
}

unmount_root() {
  local i
  kill_root_processes
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R "${mounted[$i]}"; done
  mounted=()
}

in_root() {  # in_root COMMAND [LIMIT_SECONDS]
  local pip_cert=() child
  [ -f "$root/root/host-ca.pem" ] && pip_cert=(PIP_CERT=/root/host-ca.pem)
  # In the background and waited for, so that a TERM or INT to this script runs its trap (and
  # the clean-up) at once instead of after the command.
  timeout --kill-after=30 "${2:-$step_limit}" chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "${pip_cert[@]}" bash -c "$1" &
  child=$!
  wait "$child"
}

make_root() {  # debootstrap SUITE into $root: minbase + make + git; apt and dpkg set for speed
  local suite=$1
  echo "[$suite] debootstrap from $mirror"
  timeout --kill-after=30 "$step_limit" \
    debootstrap --variant=minbase --include=make,git "$suite" "$root" "$mirror" \
    > "$out/$suite.debootstrap.log" 2>&1 || { tail -20 "$out/$suite.debootstrap.log" >&2; return 1; }
  # unstable's Release file may be past its Valid-Until; unpacking without fsync halves the time.
  echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99matrix"
  echo 'force-unsafe-io' > "$root/etc/dpkg/dpkg.cfg.d/99matrix"
}

run_suite() {
  local suite=$1 started snapshot="$cache/roots/$suite-$key.tar.zst"
  started=$(date +%s)
  root=$(mktemp -d "/var/tmp/sbas-root-$suite.XXXXXX")
  if [ $fresh -eq 0 ] && [ -f "$snapshot" ]; then
    echo "[$suite] restoring $snapshot"
    tar -I zstd -xpf "$snapshot" -C "$root"
  else
    make_root "$suite"
    if [ $fresh -eq 0 ]; then
      # The project's own system step, as `make setup` runs it; then snapshot the root.
      mkdir -p "$root/opt/setup"
      cp "$here/scripts/setup_system.sh" "$root/opt/setup/"
      mount_root
      echo "[$suite] installing: $packages"
      in_root "bash /opt/setup/setup_system.sh $packages && apt-get clean" \
        > "$out/$suite.packages.log" 2>&1 || { tail -30 "$out/$suite.packages.log" >&2; return 1; }
      unmount_root
      rm -rf "$root/opt/setup"
      echo "[$suite] snapshot to $snapshot"
      tar -I 'zstd -T2 -3' -cpf "$snapshot.tmp" -C "$root" . && mv "$snapshot.tmp" "$snapshot"
    fi
  fi
  echo "[$suite] root ready after $(( $(date +%s) - started )) s"

  # The working tree and the shared test data, as a clone beside ../shared sees them.
  mkdir -p "$root/build/sbas_selector"
  (cd "$here" && git ls-files -z -c -o --exclude-standard | tar --null -T - -cf -) \
    | tar -xf - -C "$root/build/sbas_selector"
  [ -d "$here/../shared" ] && cp -a "$here/../shared" "$root/build/shared"
  mount_root
  local status=0
  echo "[$suite] make $target (log: $out/$suite.log)"
  in_root "cd /build/sbas_selector && make $target" "$target_limit" > "$out/$suite.log" 2>&1 \
    || status=$?
  in_root "cd /build/sbas_selector && .venv/bin/python scripts/platform_versions.py $suite" 120 \
    > "$out/$suite.versions.json" 2>/dev/null || true
  tail -5 "$out/$suite.log"
  unmount_root
  cleanup || true
  local verdict="passed"
  [ $status -eq 0 ] || verdict="FAILED (status $status)"
  echo "[$suite] make $target $verdict in $(( $(date +%s) - started )) s" | tee -a "$out/summary.txt"
  return $status
}

failed=()
for suite in "${suites[@]}"; do
  run_suite "$suite" || failed+=("$suite")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]} (logs in $out)" >&2
  exit 1
fi
