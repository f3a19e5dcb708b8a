#!/bin/sh
# deps.sh - install what the e2e suite runs (BIND 9, Unbound, NSD, tinydns,
# rsyslog, Postfix, dig, rndc, unbound-control, promtool, unshare, ip), and
# the headless Chromium that renders the digest's HTML (notify/digest),
# without starting any of their services.
#
# Idempotent: does nothing when every tool is present. Otherwise, as root:
# one "apt-get update", then "apt-get install --no-install-recommends" of the
# missing packages, with a temporary /usr/sbin/policy-rc.d (exit 101) so that
# no maintainer script starts a daemon; on a host running systemd, the units
# of newly installed packages are disabled again. Postfix is preseeded with
# debconf's "No configuration" (postfix/main_mailer_type) so that its install
# asks nothing and writes no /etc/postfix/main.cf: the suite runs its own
# Postfix with its own configuration directory and queue. Not root and tools
# missing: prints the command and exits 0 (the suite then skips, or fails
# under CI=true).
set -eu

# tool:package pairs
pairs="named:bind9 named-checkconf:bind9-utils rndc:bind9-utils dig:bind9-dnsutils unbound:unbound
unbound-checkconf:unbound unbound-control:unbound nsd:nsd nsd-checkconf:nsd rsyslogd:rsyslog
tinydns:tinydns tinydns-data:tinydns
unshare:util-linux mount:mount ip:iproute2
postfix:postfix postconf:postfix postmap:postfix postalias:postfix postqueue:postfix
promtool:prometheus chromium:chromium"

PATH=$PATH:/usr/sbin:/sbin:/usr/bin:/bin
need=""
for p in $pairs; do
	tool=${p%%:*} pkg=${p#*:}
	if ! command -v "$tool" >/dev/null 2>&1; then
		case " $need " in *" $pkg "*) ;; *) need="$need $pkg" ;; esac
	fi
done
need=${need# }
[ -n "$need" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "e2e/deps.sh: missing packages: $need; run e2e/deps.sh as root to install them (it preseeds postfix and starts no service)" >&2
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "e2e/deps.sh: missing packages: $need, and no apt-get to install them" >&2
	exit 1
fi

newly=""
for pkg in $need; do
	dpkg -s "$pkg" >/dev/null 2>&1 || newly="$newly $pkg"
done

policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
	if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# temporary, from lamers e2e/deps.sh: start no service\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	created_policy=1
fi

echo "e2e/deps.sh: installing $need" >&2
export DEBIAN_FRONTEND=noninteractive
case " $need " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	;;
esac
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -qq --no-install-recommends $need >&2

# Package installation enables the units on systemd hosts (policy-rc.d only
# kept them from starting): disable those of packages installed just now.
if [ -d /run/systemd/system ] && [ -n "$newly" ]; then
	for pkg in $newly; do
		case $pkg in
		bind9) units="named.service" ;;
		unbound) units="unbound.service unbound-resolvconf.service" ;;
		nsd) units="nsd.service" ;;
		tinydns) units="tinydns.service" ;;
		rsyslog) units="rsyslog.service syslog.socket" ;;
		postfix) units="postfix.service" ;;
		prometheus) units="prometheus.service" ;;
		*) units="" ;;
		esac
		for u in $units; do
			systemctl disable --quiet "$u" 2>/dev/null || true
		done
	done
fi
echo "e2e/deps.sh: done" >&2
