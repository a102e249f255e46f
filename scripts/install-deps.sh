#!/bin/bash
# Installs what Mamori needs from Debian 12's packages (idempotent: only missing packages are
# installed, apt-get update runs only when something is missing).
#   scripts/install-deps.sh          build + run
#   scripts/install-deps.sh --test   also tests, fuzzing and benchmarks (PostgreSQL, Chromium,
#                                    clang/libFuzzer, rpm, Node.js packages of tests/e2e)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
with_test=0
for a in "$@"; do
  case "$a" in
    --test) with_test=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option $a" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake ninja-build pkg-config git
      libfmt-dev libcli11-dev nlohmann-json3-dev
      libssl-dev zlib1g-dev libsqlite3-dev libpq-dev
      libsimdjson-dev libarchive-dev libcurl4-openssl-dev libsodium-dev libtomlplusplus-dev libsystemd-dev libpcre2-dev libhyperscan-dev libxml2-dev libgumbo-dev)
if [ "$with_test" = 1 ]; then
  pkgs+=(libgtest-dev libgmock-dev libbenchmark-dev python3 sqlite3 dpkg
         postgresql postgresql-client
         clang libclang-rt-14-dev
         rpm librpm-dev libapt-pkg-dev php-cli php-composer-semver python3-packaging python3-apt
         chromium fonts-dejavu-core
         hyperfine openssh-client nftables iproute2 iptables
         modsecurity-crs libmodsecurity-dev nginx libnginx-mod-http-modsecurity wrk)
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all Debian packages present"
fi

if [ "$with_test" = 1 ]; then
  # Debian's sshd, unpacked (never installed, never run as a service): the oracle the audit's
  # sshd_config reader is compared with (sshd -T, tests/audit/sshd_oracle.sh).
  oracle="$here/.cache/sshd-oracle"
  if [ ! -x "$oracle/usr/sbin/sshd" ]; then
    tmpd=$(mktemp -d)
    chmod 755 "$tmpd"
    if ! (cd "$tmpd" && apt-get download -qq openssh-server libwrap0 >/dev/null 2>&1); then
      apt-get update -qq
      (cd "$tmpd" && apt-get download -qq openssh-server libwrap0 >/dev/null)
    fi
    mkdir -p "$oracle"
    for d in "$tmpd"/*.deb; do dpkg-deb -x "$d" "$oracle"; done
    rm -rf "$tmpd"
    echo "install-deps: sshd oracle unpacked in $oracle"
  fi
  # systemd-journal-remote, unpacked the same way: it turns `journalctl -o export` text into
  # real journal files for the sd-journal tests (installing it would add a system user).
  jr="$here/.cache/journal-remote"
  if [ ! -x "$jr/lib/systemd/systemd-journal-remote" ]; then
    tmpd=$(mktemp -d)
    chmod 755 "$tmpd"
    (cd "$tmpd" && apt-get download -qq systemd-journal-remote libmicrohttpd12 >/dev/null 2>&1) ||
      { apt-get update -qq; (cd "$tmpd" && apt-get download -qq systemd-journal-remote libmicrohttpd12 >/dev/null); }
    mkdir -p "$jr"
    for d in "$tmpd"/*.deb; do dpkg-deb -x "$d" "$jr"; done
    rm -rf "$tmpd"
    echo "install-deps: systemd-journal-remote unpacked in $jr"
  fi
  # Debian's WordPress, unpacked (never installed: it would pull a web server and PHP in): clean
  # PHP on which `mamori web scan` must flag nothing (tests/web), and its md5sums.
  wp="$here/.cache/wordpress"
  if [ ! -f "$wp/usr/share/wordpress/wp-includes/version.php" ]; then
    tmpd=$(mktemp -d)
    chmod 755 "$tmpd"
    (cd "$tmpd" && apt-get download -qq wordpress >/dev/null 2>&1) ||
      { apt-get update -qq; (cd "$tmpd" && apt-get download -qq wordpress >/dev/null); }
    rm -rf "$wp"
    mkdir -p "$wp"
    for d in "$tmpd"/*.deb; do dpkg-deb -x "$d" "$wp"; dpkg-deb --ctrl-tarfile "$d" | tar -x -C "$wp" ./md5sums; done
    rm -rf "$tmpd"
    echo "install-deps: wordpress unpacked in $wp"
  fi
  # PHP applications and libraries Debian ships (unpacked, only their .php files kept): a wider
  # clean corpus for the web-shell judgement's false-positive share (tests/web).
  cp="$here/.cache/cleanphp"
  cleanphp_pkgs="phpmyadmin mediawiki dokuwiki roundcube-core php-symfony-console
    php-symfony-http-foundation php-guzzlehttp-guzzle php-twig php-monolog php-phpseclib php-tcpdf
    php-getid3 libphp-phpmailer smarty3 php-league-commonmark phpldapadmin php-sabre-dav
    zabbix-frontend-php icinga-php-library composer"
  if [ ! -f "$cp/.complete" ]; then
    tmpd=$(mktemp -d)
    chmod 755 "$tmpd"
    # shellcheck disable=SC2086
    (cd "$tmpd" && apt-get download -qq $cleanphp_pkgs >/dev/null 2>&1) ||
      { apt-get update -qq; (cd "$tmpd" && apt-get download -qq $cleanphp_pkgs >/dev/null); }
    rm -rf "$cp"
    mkdir -p "$cp"
    for d in "$tmpd"/*.deb; do
      n=$(basename "$d" | cut -d_ -f1)
      mkdir -p "$cp/$n"
      dpkg-deb -x "$d" "$cp/$n"
    done
    find "$cp" -type f ! -name '*.php' -delete
    find "$cp" -type l -delete
    touch "$cp/.complete"
    rm -rf "$tmpd"
    echo "install-deps: $(find "$cp" -name '*.php' | wc -l) clean PHP files unpacked in $cp"
  fi
  # Node packages for the report checks (ajv for SARIF, playwright-core driving Debian's chromium).
  cd "$here/tests/e2e"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi
