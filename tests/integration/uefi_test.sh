#!/usr/bin/env bash
# /sign/tegra/uefi end to end with a real EFI binary from Debian: sbsign
# checked by sbverify, detached and attached CMS checked by openssl.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init uefi
EFI=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f "$EFI" ] || { echo "FAIL - $EFI is missing (scripts/install-deps.sh test installs systemd-boot-efi)"; exit 1; }
start_server
cd "$WORK"
cp "$EFI" artifact.efi
CRT=$KEYS/demo/uefisign/db.crt

curl -s --fail -X POST -F machine=demo -F signing_type=sbsign -F artifact=@artifact.efi \
     --output sbsigned.efi "$DIGSIG_SERVER/sign/tegra/uefi"
check "sbsign: sbverify accepts the image with db.crt" bash -c "sbverify --cert '$CRT' sbsigned.efi 2>&1 | grep -q 'Signature verification OK'"
check "sbsign: the unsigned image does not verify (the check can fail)" bash -c "! sbverify --cert '$CRT' artifact.efi >/dev/null 2>&1"
openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout other.key -out other.crt 2>/dev/null
check "sbsign: another certificate does not verify it" bash -c "! sbverify --cert other.crt sbsigned.efi >/dev/null 2>&1"

curl -s --fail -X POST -F machine=demo -F signing_type=signature -F artifact=@artifact.efi \
     --output detached.sig "$DIGSIG_SERVER/sign/tegra/uefi"
check "signature: detached CMS verifies over the artifact" \
  openssl cms -verify -binary -inform DER -in detached.sig -content artifact.efi -CAfile "$CRT" -purpose any -out /dev/null
check "signature: carries the signer certificate and signed attributes, as openssl cms -sign" \
  bash -c "openssl cms -cmsout -print -inform DER -in detached.sig > cms.txt && grep -q 'signingTime' cms.txt && grep -q 'messageDigest' cms.txt && grep -q 'CN=demo UEFI db' cms.txt"

curl -s --fail -X POST -F machine=demo -F signing_type=attach_signature -F artifact=@artifact.efi \
     --output attached.bin "$DIGSIG_SERVER/sign/tegra/uefi"
size=$(stat -c %s artifact.efi)
padded=$(( (size + 2047) / 2048 * 2048 ))
head -c "$padded" attached.bin > attached.payload
tail -c +$((padded + 1)) attached.bin > attached.sig
check "attach_signature: the payload is zero-padded to a multiple of 2048" \
  bash -c "cmp -n $size attached.payload artifact.efi && [ \$(stat -c %s attached.payload) -eq $padded ] && [ -z \"\$(tail -c +$((size + 1)) attached.payload | tr -d '\\000')\" ]"
check "attach_signature: the signature after it verifies over the artifact" \
  openssl cms -verify -binary -inform DER -in attached.sig -content artifact.efi -CAfile "$CRT" -purpose any -out /dev/null

expect_error "unknown signing_type" 400 "is not one of sbsign, signature, attach_signature" /sign/tegra/uefi -F machine=demo -F signing_type=authenticode -F artifact=@artifact.efi
expect_error "missing signing_type" 400 "'signing_type' field is required" /sign/tegra/uefi -F machine=demo -F artifact=@artifact.efi
head -c 5000 /dev/urandom > notpe.bin
expect_error "sbsign on something that is not PE/COFF" 400 "sbsign could not sign the artifact" /sign/tegra/uefi -F machine=demo -F signing_type=sbsign -F artifact=@notpe.bin
expect_error "unknown machine" 404 "no uefisign keys are configured for 'nope'" /sign/tegra/uefi -F machine=nope -F signing_type=signature -F artifact=@artifact.efi
check "no key file is left in the spool after sbsign" spool_empty
check "no key material in the server log" no_secrets_in "$WORK/server.log"

it_finish
