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

# hex_words N: N random 32-bit words as "0x0123abcd ...".
hex_words() {
  local i words=()
  for i in $(seq 1 "$1"); do words+=("0x$(openssl rand -hex 4)"); done
  echo "${words[*]}"
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

  # NVIDIA Jetson bootloaders: the PKC key (RSA-3072) and the optional SBK
  # and user key (four 32-bit hex words each, as NVIDIA's tools read them).
  d="$out/keys/$sel/tegrasign"
  mkdir -p "$d"
  if [ ! -f "$d/rsa_priv.pem" ]; then
    openssl genrsa -out "$d/rsa_priv.pem" 3072 2>/dev/null
    openssl rsa -in "$d/rsa_priv.pem" -pubout -out "$pki/$sel-tegra-pkc-public.pem" 2>/dev/null
    hex_words 4 > "$d/sbk.txt"
    hex_words 4 > "$d/user_key.txt"
  fi

  # Jetson UEFI capsules: a root, an intermediate and a signer certificate;
  # the signer's file holds its key and certificate (GenerateCapsule.py's layout).
  d="$out/keys/$sel/ueficapsulesign"
  mkdir -p "$d"
  if [ ! -f "$d/signer_private_cert.pem" ]; then
    tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/root.key" -out "$d/trusted_public_cert.pem" \
      -days 3650 -subj "/CN=$sel capsule root" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/sub.key" -subj "/CN=$sel capsule intermediate" \
      -out "$tmp/sub.csr" 2>/dev/null
    openssl x509 -req -in "$tmp/sub.csr" -CA "$d/trusted_public_cert.pem" -CAkey "$tmp/root.key" \
      -CAserial "$tmp/root.srl" -CAcreateserial -days 3650 -out "$d/other_public_cert.pem" \
      -extfile <(printf 'basicConstraints=critical,CA:TRUE\n') 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/signer.key" -subj "/CN=$sel capsule signer" \
      -out "$tmp/signer.csr" 2>/dev/null
    openssl x509 -req -in "$tmp/signer.csr" -CA "$d/other_public_cert.pem" -CAkey "$tmp/sub.key" \
      -CAserial "$tmp/sub.srl" -CAcreateserial -days 3650 -out "$tmp/signer.crt" 2>/dev/null
    cat "$tmp/signer.key" "$tmp/signer.crt" > "$d/signer_private_cert.pem"
    cp "$d/trusted_public_cert.pem" "$pki/$sel-capsule-root.crt"
    rm -rf "$tmp"
  fi

  # Jetson EKB: OEM K1 and UEFI variable authentication keys (256-bit, hex)
  # and the fixed vector (128-bit, hex) that BSPs before 36 use.
  d="$out/keys/$sel/ekbsign"
  mkdir -p "$d"
  if [ ! -f "$d/oem_k1.key" ]; then
    openssl rand -hex 32 > "$d/oem_k1.key"
    openssl rand -hex 32 > "$d/uefi-variable-authentication.key"
    openssl rand -hex 16 > "$d/fixed-vector"
  fi

  # Rockchip: the key rk_sign_tool and mkimage sign with, its certificate
  # (mkimage wants one) and its public half.
  d="$out/keys/$sel/rksign"
  mkdir -p "$d"
  if [ ! -f "$d/dev.key" ]; then
    openssl genrsa -out "$d/dev.key" 2048 2>/dev/null
    openssl req -new -x509 -key "$d/dev.key" -sha256 -days 3650 -subj "/CN=$sel Rockchip dev" \
      -out "$d/dev.crt" 2>/dev/null
    openssl rsa -in "$d/dev.key" -pubout -out "$d/dev.pubkey" 2>/dev/null
    cp "$d/dev.pubkey" "$pki/$sel-rk-public.pem"
    cp "$d/dev.crt" "$pki/$sel-rk-dev.crt"
  fi

  # Rockchip OP-TEE: the TA signing key and its public half for change_puk.
  d="$out/keys/$sel/rkopteesign"
  mkdir -p "$d"
  if [ ! -f "$d/optee-signing-key.pem" ]; then
    openssl genrsa -out "$d/optee-signing-key.pem" 2048 2>/dev/null
    openssl rsa -in "$d/optee-signing-key.pem" -pubout -out "$d/optee-signing-pubkey.pem" 2>/dev/null
    cp "$d/optee-signing-pubkey.pem" "$pki/$sel-rkoptee-public.pem"
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
