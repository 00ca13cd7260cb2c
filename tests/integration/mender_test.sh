#!/usr/bin/env bash
# /sign/mender end to end with file:// URIs: artifacts written by Debian's
# mender-artifact, signed through the server as the Mender client class
# calls it, checked with `mender-artifact validate`; structure and checksum
# errors, URIs outside DIGSIGSERVER_ARTIFACT_DIRS, and nothing lost or left.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init mender
ART=$WORK/artifacts
mkdir -p "$ART" "$WORK/elsewhere"
start_server DIGSIGSERVER_ARTIFACT_DIRS="/nonexistent:$ART"
cd "$WORK"

# Keys: demo (RSA-2048 PKCS#1, from make-dev-keys.sh), rsa3072 (PKCS#8), ec (P-256, PKCS#8).
mkdir -p "$KEYS/rsa3072/mender" "$KEYS/ec/mender" "$KEYS/ed/mender"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$KEYS/rsa3072/mender/private.key" 2>/dev/null
openssl pkey -in "$KEYS/rsa3072/mender/private.key" -pubout -out rsa3072.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$KEYS/ec/mender/private.key" 2>/dev/null
openssl pkey -in "$KEYS/ec/mender/private.key" -pubout -out ec.pub
openssl genpkey -algorithm ED25519 -out "$KEYS/ed/mender/private.key"
cp "$PKI/demo-mender-public.pem" demo.pub

head -c 300000 /dev/urandom > rootfs.ext4
mender-artifact write rootfs-image -t beaglebone -n release-1 -f rootfs.ext4 -o "$ART/rootfs.mender" >/dev/null
echo 'a module payload' > payload.txt
mender-artifact write module-image -T script -t beaglebone -n release-2 -f payload.txt -o "$ART/module.mender" >/dev/null
cp "$ART/rootfs.mender" original.mender

# --- the client call, as the mendersign class makes it -------------------------------
DISTRO=demo
uri="file://$ART/rootfs.mender"
curl --silent --fail -X POST -F "distro=$DISTRO" -F "artifact-uri=$uri" "$DIGSIG_SERVER/sign/mender" > response.txt
check "200 with a short text naming the artifact" grep -q "Signed file://$ART/rootfs.mender" response.txt
check "mender-artifact validate accepts it with the RSA-2048 public key" \
  bash -c "mender-artifact validate -k demo.pub '$ART/rootfs.mender' 2>&1 | grep -q 'validated successfully'"
check "manifest.sig follows the manifest, the order is kept" \
  bash -c "[ \"\$(tar -tf '$ART/rootfs.mender' | tr '\\n' ' ')\" = 'version manifest manifest.sig header.tar.gz data/0000.tar.gz ' ]"
check "every other member is byte-identical" bash -c "for m in version manifest header.tar.gz data/0000.tar.gz; do cmp <(tar -xOf original.mender \$m) <(tar -xOf '$ART/rootfs.mender' \$m) || exit 1; done"
check "another key does not validate it" bash -c "! mender-artifact validate -k ec.pub '$ART/rootfs.mender' >/dev/null 2>&1"

for keyset in rsa3072 ec; do
  cp original.mender "$ART/$keyset.mender"
  curl -s --fail -X POST -F distro=$keyset -F "artifact-uri=file://$ART/$keyset.mender" "$DIGSIG_SERVER/sign/mender" >/dev/null
  check "$keyset: validated by mender-artifact" \
    bash -c "mender-artifact validate -k $keyset.pub '$ART/$keyset.mender' 2>&1 | grep -q 'validated successfully'"
done
check "ECDSA signature is raw r||s (64 bytes), not DER" bash -c "[ \$(tar -xOf '$ART/ec.mender' manifest.sig | base64 -d | wc -c) -eq 64 ]"

# Re-signing: an artifact signed with one key, signed again with another.
curl -s --fail -X POST -F distro=ec -F "artifact-uri=$uri" "$DIGSIG_SERVER/sign/mender" >/dev/null
check "re-signing replaces manifest.sig (one member, the new key validates)" \
  bash -c "[ \$(tar -tf '$ART/rootfs.mender' | grep -c manifest.sig) -eq 1 ] && mender-artifact validate -k ec.pub '$ART/rootfs.mender' 2>&1 | grep -q 'validated successfully'"
curl -s --fail -X POST -F distro=demo -F "artifact-uri=file://$ART/module.mender" "$DIGSIG_SERVER/sign/mender" >/dev/null
check "a module-image artifact is signed and validates" \
  bash -c "mender-artifact validate -k demo.pub '$ART/module.mender' 2>&1 | grep -q 'validated successfully'"

# A tampered manifest (after signing) fails validation.
rm -rf t && mkdir t && tar -C t -xf "$ART/module.mender"
sed -i '1s/^./0/' t/manifest
(cd t && tar --format=gnu -cf ../tampered.mender version manifest manifest.sig header.tar.gz data/0000.tar.gz)
check "a tampered manifest fails mender-artifact validate" bash -c "! mender-artifact validate -k demo.pub tampered.mender >/dev/null 2>&1"

# --- bad input: clear 4xx, the original untouched, nothing left beside it ------------
# expect_untouched DESCRIPTION STATUS TEXT FILE: the request fails as expected and FILE is unchanged.
expect_untouched() {
  local what=$1 status=$2 text=$3 file=$4 before
  before=$(sha256sum "$file" | cut -d' ' -f1)
  expect_error "$what" "$status" "$text" /sign/mender -F distro=demo -F "artifact-uri=file://$file"
  check "  ... $(basename "$file") is unchanged and no temporary file is left" \
    bash -c "[ \"\$(sha256sum '$file' | cut -d' ' -f1)\" = $before ] && [ -z \"\$(ls -A '$(dirname "$file")' | grep digsig)\" ]"
}
head -c 3000 /dev/urandom > "$ART/random.mender"
expect_untouched "not a tar" 400 "not a Mender artifact" "$ART/random.mender"
mkdir -p v2 && printf '{"format":"mender","version":2}' > v2/version && echo x > v2/header.tar.gz
(cd v2 && tar -cf "$ART/v2.mender" version header.tar.gz)
expect_untouched "artifact format version 2" 400 "format version 2 is not supported" "$ART/v2.mender"
mkdir -p nomanifest && tar -C t -cf "$ART/nomanifest.mender" version header.tar.gz
expect_untouched "missing manifest" 400 "the second member is not 'manifest'" "$ART/nomanifest.mender"
rm -rf bad && mkdir bad && tar -C bad -xf original.mender && printf 'x' >> bad/header.tar.gz
(cd bad && tar -cf "$ART/badsum.mender" version manifest header.tar.gz data/0000.tar.gz)
expect_untouched "header checksum mismatch" 400 "checksum of 'header.tar.gz' does not match the manifest" "$ART/badsum.mender"
cp original.mender "$ART/edkey.mender"
expect_error "a key of an unsupported type" 400 "neither an RSA key nor an ECDSA P-256 key" /sign/mender -F distro=ed -F "artifact-uri=file://$ART/edkey.mender"
cp original.mender "$WORK/elsewhere/x.mender"
expect_error "a URI outside DIGSIGSERVER_ARTIFACT_DIRS" 403 "not under a directory listed in DIGSIGSERVER_ARTIFACT_DIRS" /sign/mender -F distro=demo -F "artifact-uri=file://$WORK/elsewhere/x.mender"
expect_error "  ... also via .." 403 "DIGSIGSERVER_ARTIFACT_DIRS" /sign/mender -F distro=demo -F "artifact-uri=file://$ART/../elsewhere/x.mender"
ln -s "$WORK/elsewhere/x.mender" "$ART/link.mender"
expect_error "  ... also via a symlink" 403 "DIGSIGSERVER_ARTIFACT_DIRS" /sign/mender -F distro=demo -F "artifact-uri=file://$ART/link.mender"
check "  ... and the file outside was not touched" cmp "$WORK/elsewhere/x.mender" original.mender
expect_error "a file that does not exist" 404 "no artifact at file://$ART/nothing.mender" /sign/mender -F distro=demo -F "artifact-uri=file://$ART/nothing.mender"
expect_error "an s3:// URI on a server without AWS credentials" 500 "s3:// artifact URIs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY on the server" /sign/mender -F distro=demo -F "artifact-uri=s3://bucket/a.mender"
expect_error "missing distro" 400 "Distro name missing" /sign/mender -F "artifact-uri=$uri"
expect_error "missing artifact-uri" 400 "'artifact-uri' field is required" /sign/mender -F distro=demo

start_server
expect_error "without DIGSIGSERVER_ARTIFACT_DIRS file:// is refused" 403 "DIGSIGSERVER_ARTIFACT_DIRS is not set" /sign/mender -F distro=demo -F "artifact-uri=$uri"
check "no key material in the server log" no_secrets_in "$WORK/server.log"

it_finish
