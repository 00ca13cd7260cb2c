#!/usr/bin/env bash
# Makes a development HAB4 PKI with NXP's own script (hab4_pki_tree.sh:
# a CA, 4 SRKs, CSF and IMG keys, RSA-2048) and the SRK table and fuse file
# (srktool), and packs crts/ and keys/ into the key tarball the i.MX signer
# reads (imx-cst-keys.tar.gz). CSF files name its certificates relative to
# the tarball's root, e.g. "crts/IMG1_1_sha256_2048_65537_v3_usr_crt.pem".
# Usage: make-imx-keys.sh CST_TOP OUT_TARBALL    (CST_TOP as fetch-cst.sh lays it out)
set -euo pipefail
cst_top=${1:?usage: make-imx-keys.sh CST_TOP OUT_TARBALL}
out=${2:?usage: make-imx-keys.sh CST_TOP OUT_TARBALL}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$cst_top/keys" "$cst_top/ca" "$work/"
mkdir -p "$work/crts"
export PATH="$cst_top/linux64/bin:$PATH"
(cd "$work/keys" && bash hab4_pki_tree.sh -existing-ca n -kt rsa -kl 2048 -duration 10 \
   -num-srk 4 -srk-ca y > "$work/pki.log" 2>&1) || { cat "$work/pki.log" >&2; exit 1; }
(cd "$work/crts" && srktool -h 4 -t SRK_1_2_3_4_table.bin -e SRK_1_2_3_4_fuse.bin -d sha256 -f 1 \
   -c SRK1_sha256_2048_65537_v3_ca_crt.pem,SRK2_sha256_2048_65537_v3_ca_crt.pem,SRK3_sha256_2048_65537_v3_ca_crt.pem,SRK4_sha256_2048_65537_v3_ca_crt.pem \
   > /dev/null)
rm -f "$work"/keys/*.sh
tar -C "$work" -czf "$out" crts keys
chmod 600 "$out"
