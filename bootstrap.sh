#!/bin/sh
# Installs the Debian packages durabench needs (when missing and when we may),
# then generates, configures and builds.  Extra arguments go to ./configure.
set -eu
cd "$(dirname "$0")"

PKGS="autoconf automake libtool pkg-config make gcc libinih-dev libsqlite3-dev libjansson-dev libpq-dev postgresql libmariadb-dev mariadb-server chromium valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing:$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

autoreconf -fi
./configure "$@"
make -j"$(nproc 2>/dev/null || echo 2)"
