#!/usr/bin/env bash
# Installs a working NXP Code Signing Tool for the tests (and for a demo):
# Debian 12's imx-code-signing-tool 3.3.1 is broken (its crypto back end is
# not linked), so this takes version 3.4.1 from Debian 13's package, which
# runs on Debian 12 (it links libcrypto.so.3). The package is fetched with a
# private apt configuration (the system's apt sources are not touched), from
# the archive this machine's own apt sources name, and unpacked into
#   DEST/cst-3.4.1/linux64/bin/{cst,srktool,csf_parser}
#   DEST/cst-3.4.1/{keys,ca}/   (NXP's PKI scripts and their OpenSSL configs)
# which is the layout DIGSIGSERVER_IMX_CST_BASE=DEST expects.
# Usage: fetch-cst.sh DEST
set -euo pipefail
dest=${1:?usage: fetch-cst.sh DEST}
version=3.4.1
top=$dest/cst-$version
[ -x "$top/linux64/bin/cst" ] && exit 0

# The Debian archive this machine uses (deb822 sources first, then the old format).
uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$uri" ] || { echo "fetch-cst.sh: no Debian archive found in the apt sources" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sources.list.d" "$work/lists/partial" "$work/archives/partial"
: > "$work/sources.list"
printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "$uri" > "$work/sources.list.d/trixie.sources"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/sources.list.d"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
          -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" -qq update
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "imx-code-signing-tool=$version*")
dpkg -x "$work"/imx-code-signing-tool_*.deb "$work/root"

mkdir -p "$top/linux64/bin" "$top/keys" "$top/ca"
cp "$work/root/usr/bin/cst" "$work/root/usr/bin/srktool" "$work/root/usr/bin/csf_parser" "$top/linux64/bin/"
scripts=$work/root/usr/share/libexec/imx-code-signing-tool/pki_scripts
cp "$scripts"/*.sh "$top/keys/"
cp "$scripts"/ca/*.cnf "$top/ca/"
"$top/linux64/bin/cst" --help >/dev/null 2>&1 || true
echo "NXP CST $version in $top"
