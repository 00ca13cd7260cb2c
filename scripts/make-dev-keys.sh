#!/usr/bin/env bash
# Generates development keys for every signer into a file:// key store:
#   OUT/keys/<selector>/<signtype>/<keyname>   the key store (DIGSIGSERVER_KEYFILE_URI=file://OUT/keys)
#   OUT/pki/                                   the development CA and public halves, for verifying
# Never use these keys for anything but development and tests.
# i.MX keys need NXP's CST (its PKI script and srktool): they are made when
# CST_BASE names a directory laid out by scripts/fetch-cst.sh.
# Usage: [CST_BASE=DIR] make-dev-keys.sh OUT [SELECTOR...]   (default selector: demo)
set -euo pipefail

out=${1:?usage: make-dev-keys.sh OUT [SELECTOR...]}
shift
selectors=("$@")
[ ${#selectors[@]} -gt 0 ] || selectors=(demo)

mkdir -p "$out/keys" "$out/pki"
chmod 700 "$out/keys"
pki="$out/pki"
umask 077

# A development CA that signs the code-signing certificates.
if [ ! -f "$pki/ca.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" \
    -days 3650 -subj "/CN=digsigserver development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi

# issue_cert KEY CERT CN: a code-signing certificate for KEY, signed by the CA. It carries
# both codeSigning and emailProtection: SWUpdate checks emailProtection unless it is
# started with --cert-purpose codeSigning.
issue_cert() {
  local key=$1 cert=$2 cn=$3 csr
  csr=$(mktemp)
  openssl req -new -key "$key" -subj "/CN=$cn" -out "$csr"
  openssl x509 -req -in "$csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -out "$cert" 2>/dev/null \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning,emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n')
  rm -f "$csr"
}

for sel in "${selectors[@]}"; do
  # SWUpdate: RSA key for RSA/RSAPSS, certificate and key for CMS.
  d="$out/keys/$sel/swupdate"
  mkdir -p "$d"
  if [ ! -f "$d/rsa-private.key" ]; then
    openssl genrsa -out "$d/rsa-private.key" 2048 2>/dev/null
    openssl rsa -in "$d/rsa-private.key" -pubout -out "$pki/$sel-swupdate-rsa-public.pem" 2>/dev/null
    openssl genrsa -out "$d/cms-private.key" 2048 2>/dev/null
    issue_cert "$d/cms-private.key" "$d/cms.cert" "$sel swupdate signer"
    cp "$d/cms.cert" "$pki/$sel-swupdate-cms.cert"
  fi

  # Kernel modules: a private key and its self-signed X.509 certificate, as
  # the kernel's certs/Makefile makes them (RSA-4096 is the kernel's default).
  d="$out/keys/$sel/kmodsign"
  mkdir -p "$d"
  if [ ! -f "$d/kernel-signkey.priv" ]; then
    openssl req -new -x509 -newkey rsa:4096 -nodes -sha256 -days 3650 \
      -subj "/CN=$sel kernel module signing key" \
      -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=digitalSignature" \
      -addext "extendedKeyUsage=codeSigning" \
      -keyout "$d/kernel-signkey.priv" -out "$d/kernel-signkey.x509" 2>/dev/null
    cp "$d/kernel-signkey.x509" "$pki/$sel-kmodsign.x509"
  fi

  # OP-TEE: the TA signing key (RSA-2048, like optee_os's default_ta.pem).
  d="$out/keys/$sel/opteesign"
  mkdir -p "$d"
  if [ ! -f "$d/optee-signing-key.pem" ]; then
    openssl genrsa -out "$d/optee-signing-key.pem" 2048 2>/dev/null
    openssl rsa -in "$d/optee-signing-key.pem" -pubout -out "$pki/$sel-optee-public.pem" 2>/dev/null
  fi

  # UEFI (Jetson): the db key and certificate.
  d="$out/keys/$sel/uefisign"
  mkdir -p "$d"
  if [ ! -f "$d/db.key" ]; then
    openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=$sel UEFI db" \
      -keyout "$d/db.key" -out "$d/db.crt" 2>/dev/null
    cp "$d/db.crt" "$pki/$sel-uefi-db.crt"
  fi

  # U-Boot FIT: the key mkimage signs with, named "dev" (the default key name).
  d="$out/keys/$sel/fitimagesign"
  mkdir -p "$d"
  if [ ! -f "$d/dev.key" ]; then
    openssl genrsa -out "$d/dev.key" 2048 2>/dev/null
    openssl req -new -x509 -key "$d/dev.key" -sha256 -days 3650 -subj "/CN=$sel FIT dev" \
      -out "$d/dev.crt" 2>/dev/null
    cp "$d/dev.crt" "$pki/$sel-fit-dev.crt"
  fi

  # Mender: the artifact signing key (RSA-2048, PKCS#1 as mender-artifact writes it).
  d="$out/keys/$sel/mender"
  mkdir -p "$d"
  if [ ! -f "$d/private.key" ]; then
    openssl genrsa -traditional -out "$d/private.key" 2048 2>/dev/null
    openssl rsa -in "$d/private.key" -pubout -out "$pki/$sel-mender-public.pem" 2>/dev/null
  fi

  # i.MX HAB: NXP's PKI and SRK table, packed as the signer expects.
  cst_top=${CST_BASE:+$CST_BASE/cst-3.4.1}
  if [ -n "$cst_top" ] && [ -x "$cst_top/linux64/bin/srktool" ]; then
    d="$out/keys/$sel/imxsign"
    mkdir -p "$d"
    [ -f "$d/imx-cst-keys.tar.gz" ] || "$(dirname "$0")/make-imx-keys.sh" "$cst_top" "$d/imx-cst-keys.tar.gz"
  fi
done
chmod -R go-rwx "$out/keys"
echo "development keys for ${selectors[*]} in $out/keys (CA and public keys in $out/pki)"
