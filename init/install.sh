#!/bin/sh
# Installs margo-agent onto this system or into an image tree (DESTDIR).
# POSIX sh; works with BusyBox. See init/README.md for the layout.
#
#   sh init/install.sh [options]
#     --binary FILE   executable to install (env BINARY; default
#                     dist/margo-agent-linux-ARCH[-musl], chosen for the target)
#     --arch ARCH     x64 or arm64, for the default binary (env ARCH; default:
#                     this machine's, from uname -m)
#     --init KIND     systemd, openrc, sysv, all or none (env INIT; default systemd)
#     --config FILE   configuration to install (env CONFIG; default
#                     init/config.yaml beside this script); never overwrites one
#                     already in place
#     --ca FILE       WFM root CA (PEM) -> /etc/margo-agent/ca.pem
#     --key FILE      device private key (PEM) -> /etc/margo-agent/device-key.pem (0600)
#     --cert FILE     device certificate (PEM) -> /etc/margo-agent/device-cert.pem
#     --unitdir DIR   systemd unit directory (env SYSTEMD_UNITDIR; default
#                     $PREFIX/lib/systemd/system, i.e. /usr/lib/systemd/system)
#     --enable        start at boot (with DESTDIR: by creating the links offline)
#     --start         start now (live system only; implies --enable)
#     --destdir DIR   install into DIR (env DESTDIR), for image builders
#     --prefix DIR    (env PREFIX; default /usr): executable in $PREFIX/bin
#
# With DESTDIR set, nothing on the running system is touched: no systemctl,
# rc-update or update-rc.d.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
repo=$(dirname -- "$here")

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
BINARY=${BINARY:-}
ARCH=${ARCH:-}
INIT=${INIT:-systemd}
CONFIG=${CONFIG:-$here/config.yaml}
SYSTEMD_UNITDIR=${SYSTEMD_UNITDIR:-}
CA=''
KEY=''
CERT=''
ENABLE=no
START=no

die() {
	echo "install.sh: $*" >&2
	exit 1
}
say() { echo "install.sh: $*"; }

need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
	case "$1" in
		--binary) need_arg "$@"; BINARY=$2; shift ;;
		--arch) need_arg "$@"; ARCH=$2; shift ;;
		--init) need_arg "$@"; INIT=$2; shift ;;
		--config) need_arg "$@"; CONFIG=$2; shift ;;
		--ca) need_arg "$@"; CA=$2; shift ;;
		--key) need_arg "$@"; KEY=$2; shift ;;
		--cert) need_arg "$@"; CERT=$2; shift ;;
		--unitdir) need_arg "$@"; SYSTEMD_UNITDIR=$2; shift ;;
		--destdir) need_arg "$@"; DESTDIR=$2; shift ;;
		--prefix) need_arg "$@"; PREFIX=$2; shift ;;
		--enable) ENABLE=yes ;;
		--start) ENABLE=yes; START=yes ;;
		-h | --help)
			sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
			exit 0
			;;
		*) die "unknown option '$1' (see --help)" ;;
	esac
	shift
done

case "$INIT" in
	systemd | openrc | sysv | all | none) ;;
	*) die "--init must be systemd, openrc, sysv, all or none, not '$INIT'" ;;
esac
case "$PREFIX" in /*) ;; *) die "PREFIX must be an absolute path, not '$PREFIX'" ;; esac
DESTDIR=${DESTDIR%/}
PREFIX=${PREFIX%/}
[ -n "$PREFIX" ] || PREFIX=/usr
[ -n "$SYSTEMD_UNITDIR" ] || SYSTEMD_UNITDIR=$PREFIX/lib/systemd/system
[ -z "$DESTDIR" ] || [ "$START" = no ] || die "--start cannot be used with DESTDIR (nothing runs in an image tree)"

# The default executable matches the target: its architecture, and musl when
# the target tree has the musl loader (Alpine, musl Buildroot/Yocto images).
if [ -z "$BINARY" ]; then
	if [ -z "$ARCH" ]; then
		case "$(uname -m)" in
			x86_64 | amd64) ARCH=x64 ;;
			aarch64 | arm64) ARCH=arm64 ;;
			*) die "no margo-agent build for $(uname -m); pass --binary FILE" ;;
		esac
	fi
	# Build systems export ARCH in their own spelling (kernel: arm64, x86_64;
	# Debian: amd64): accept them all.
	case "$ARCH" in
		x64 | x86_64 | amd64) ARCH=x64 machine=x86_64 ;;
		arm64 | aarch64) ARCH=arm64 machine=aarch64 ;;
		*) die "--arch must be x64 or arm64, not '$ARCH'" ;;
	esac
	libc=''
	[ -e "$DESTDIR/lib/ld-musl-$machine.so.1" ] && libc=-musl
	BINARY=$repo/dist/margo-agent-linux-$ARCH$libc
	[ -f "$BINARY" ] || die "$BINARY not found: run 'npm run build' first, or pass --binary FILE"
fi
[ -f "$BINARY" ] || die "--binary $BINARY does not exist"
[ -f "$CONFIG" ] || die "configuration $CONFIG does not exist; pass --config FILE"
for f in "$CA" "$KEY" "$CERT"; do
	[ -z "$f" ] || [ -f "$f" ] || die "$f does not exist"
done

# Installed scripts name the executable by its final path.
bindir=$PREFIX/bin
exe=$bindir/margo-agent
rewrite() {
	sed -e "s|/usr/bin/margo-agent|$exe|g" "$1" >"$2"
}

install_file() { # MODE SRC DEST
	mkdir -p "$(dirname -- "$3")"
	rm -f "$3"
	cp "$2" "$3"
	chmod "$1" "$3"
}

# Same, through rewrite(): never a half-written file in place.
install_rewritten() { # MODE SRC DEST
	mkdir -p "$(dirname -- "$3")"
	rewrite "$2" "$3.tmp.$$"
	chmod "$1" "$3.tmp.$$"
	mv -f "$3.tmp.$$" "$3"
}

# Secrets are written with a umask so they are never readable by others, not
# even for a moment.
install_private() { # SRC DEST
	mkdir -p "$(dirname -- "$2")"
	(umask 077 && rm -f "$2" && cp "$1" "$2")
	chmod 0600 "$2"
}

say "installing $BINARY -> $DESTDIR$exe"
install_file 0755 "$BINARY" "$DESTDIR$exe"

etc=$DESTDIR/etc/margo-agent
mkdir -p "$etc"
chmod 0750 "$etc"
if [ -e "$etc/config.yaml" ]; then
	say "keeping existing $etc/config.yaml (new one not installed)"
else
	(umask 027 && cp "$CONFIG" "$etc/config.yaml")
	chmod 0640 "$etc/config.yaml"
	say "installed configuration -> $etc/config.yaml"
fi
[ -z "$CA" ] || { install_file 0644 "$CA" "$etc/ca.pem"; say "installed CA -> $etc/ca.pem"; }
[ -z "$CERT" ] || { install_file 0644 "$CERT" "$etc/device-cert.pem"; say "installed device certificate -> $etc/device-cert.pem"; }
[ -z "$KEY" ] || { install_private "$KEY" "$etc/device-key.pem"; say "installed device key -> $etc/device-key.pem (0600)"; }

data=$DESTDIR/var/lib/margo-agent
mkdir -p "$data"
chmod 0700 "$data"

[ ! -f "$here/README.md" ] || install_file 0644 "$here/README.md" "$DESTDIR$PREFIX/share/doc/margo-agent/README.md"

want() { [ "$INIT" = "$1" ] || [ "$INIT" = all ]; }

if want systemd; then
	unit=$SYSTEMD_UNITDIR/margo-agent.service
	install_rewritten 0644 "$here/margo-agent.service" "$DESTDIR$unit"
	say "installed systemd unit -> $DESTDIR$unit"
	if [ "$ENABLE" = yes ]; then
		if [ -n "$DESTDIR" ]; then
			# What `systemctl enable` does, done offline for an image.
			wants=$DESTDIR/etc/systemd/system/multi-user.target.wants
			mkdir -p "$wants"
			ln -sf "$unit" "$wants/margo-agent.service"
			say "enabled: $wants/margo-agent.service -> $unit"
		elif [ -d /run/systemd/system ]; then
			systemctl daemon-reload
			systemctl enable margo-agent.service
			[ "$START" = no ] || systemctl restart margo-agent.service
		else
			say "systemd is not running here: enable later with 'systemctl enable margo-agent'"
		fi
	fi
fi

if want openrc; then
	install_rewritten 0755 "$here/openrc/margo-agent" "$DESTDIR/etc/init.d/margo-agent"
	say "installed OpenRC script -> $DESTDIR/etc/init.d/margo-agent"
	if [ "$ENABLE" = yes ]; then
		if [ -n "$DESTDIR" ]; then
			mkdir -p "$DESTDIR/etc/runlevels/default"
			ln -sf /etc/init.d/margo-agent "$DESTDIR/etc/runlevels/default/margo-agent"
		elif command -v rc-update >/dev/null 2>&1; then
			rc-update add margo-agent default
			[ "$START" = no ] || rc-service margo-agent restart
		fi
	fi
fi

if want sysv; then
	if want openrc; then
		# Both want /etc/init.d/margo-agent; with --init all the SysV one goes beside it.
		sysv_path=/etc/init.d/margo-agent.sysv
	else
		sysv_path=/etc/init.d/margo-agent
	fi
	install_rewritten 0755 "$here/sysv/margo-agent" "$DESTDIR$sysv_path"
	say "installed SysV init script -> $DESTDIR$sysv_path"
	if [ "$ENABLE" = yes ]; then
		if [ -n "$DESTDIR" ]; then
			say "SysV: enable it with your image tool (e.g. update-rc.d margo-agent defaults, or an S99margo-agent link)"
		elif command -v update-rc.d >/dev/null 2>&1; then
			update-rc.d margo-agent defaults
			[ "$START" = no ] || "$sysv_path" restart
		else
			say "SysV: no update-rc.d; link $sysv_path into your rcN.d directories to start at boot"
		fi
	fi
fi

say "done. Edit $etc/config.yaml (WFM URL, device identity) before the first start."
