#!/bin/bash
# sshd_oracle.sh ORACLE_DIR CASES_DIR: for every CASES_DIR/*/sshd_config, writes
# CASES_DIR/*/sshd-T (the output of `sshd -T -f …`, with `-C $(cat conn)` when a conn file
# exists) or CASES_DIR/*/sshd-error. ORACLE_DIR holds Debian 12's openssh-server and libwrap0
# unpacked (scripts/install-deps.sh --test). sshd -T needs its privilege-separation user and
# directory: both are provided inside a private mount namespace (a bind-mounted passwd copy
# and a tmpfs on /run), so this host's users and /run are never touched.
set -euo pipefail
oracle=$(readlink -f "$1"); cases=$(readlink -f "$2")
sshd=$oracle/usr/sbin/sshd
[ -x "$sshd" ] || { echo "sshd_oracle: no $sshd (run scripts/install-deps.sh --test)" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp /etc/passwd "$work/passwd"
grep -q '^sshd:' "$work/passwd" || echo 'sshd:x:64999:65534::/run/sshd:/usr/sbin/nologin' >> "$work/passwd"
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
export ORACLE_SSHD=$sshd ORACLE_WORK=$work ORACLE_CASES=$cases
export LD_LIBRARY_PATH=$oracle/lib/x86_64-linux-gnu:$oracle/usr/lib/x86_64-linux-gnu
exec unshare -m bash -c '
  set -eu
  mount --bind "$ORACLE_WORK/passwd" /etc/passwd
  mount -t tmpfs none /run
  mkdir -p /run/sshd
  for c in "$ORACLE_CASES"/*/; do
    args=(-T -f "$c/sshd_config" -h "$ORACLE_WORK/hostkey")
    [ -f "$c/conn" ] && args+=(-C "$(cat "$c/conn")")
    if ! "$ORACLE_SSHD" "${args[@]}" > "$c/sshd-T" 2> "$c/sshd-error"; then rm -f "$c/sshd-T"; fi
  done'
