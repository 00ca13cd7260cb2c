#!/usr/bin/env bash
# Keys on a PKCS#11 token (SoftHSM2, a token initialised for this run, keys
# imported with pkcs11-tool): the key files in the store hold pkcs11: URIs,
# and every native signer signs through the token. Outputs are checked with
# the same verifiers as with file keys, and, since RSA signatures are
# deterministic, compared with the file keys' outputs byte for byte (sbsign's
# signing time and the signature value over it aside).
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init pkcs11
MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -f "$MODULE" ] || { echo "FAIL - $MODULE is missing (scripts/install-deps.sh test installs softhsm2)"; exit 1; }
cd "$WORK"
PIN=Tok-5150-pin
mkdir -p tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK" > softhsm2.conf
export SOFTHSM2_CONF=$WORK/softhsm2.conf
softhsm2-util --init-token --free --label digsig --pin "$PIN" --so-pin 0000 >/dev/null

# import FILE ID LABEL: a file key onto the token (as PKCS#8 DER).
import() {
  openssl pkcs8 -topk8 -nocrypt -in "$1" -outform DER -out import.der
  pkcs11-tool --module "$MODULE" --token-label digsig --login --pin "$PIN" \
    --write-object import.der --type privkey --id "$2" --label "$3" >/dev/null 2>&1
  rm -f import.der
}
FILEKEYS=$WORK/filekeys
cp -a "$KEYS" "$FILEKEYS"
import "$FILEKEYS/demo/swupdate/rsa-private.key" 01 swu
import "$FILEKEYS/demo/swupdate/cms-private.key" 02 swucms
import "$FILEKEYS/demo/kmodsign/kernel-signkey.priv" 03 kmod
import "$FILEKEYS/demo/opteesign/optee-signing-key.pem" 04 optee
import "$FILEKEYS/demo/mender/private.key" 05 mender
import "$FILEKEYS/demo/uefisign/db.key" 06 uefi
import "$FILEKEYS/demo/fitimagesign/dev.key" 07 fitdev
import "$FILEKEYS/demo/rksign/dev.key" 08 rkdev
# mkimage -K needs the public key on the token too.
for k in fitimagesign:07:fitdev rksign:08:rkdev; do
  IFS=: read -r dir id label <<< "$k"
  openssl pkey -in "$FILEKEYS/demo/$dir/dev.key" -pubout -outform DER -out pub.der
  pkcs11-tool --module "$MODULE" --token-label digsig --login --pin "$PIN" \
    --write-object pub.der --type pubkey --id "$id" --label "$label" >/dev/null 2>&1
done
ref() { echo "pkcs11:token=digsig;object=$1;type=private"; }
ref swu > "$KEYS/demo/swupdate/rsa-private.key"
ref swucms > "$KEYS/demo/swupdate/cms-private.key"
ref kmod > "$KEYS/demo/kmodsign/kernel-signkey.priv"
ref optee > "$KEYS/demo/opteesign/optee-signing-key.pem"
ref mender > "$KEYS/demo/mender/private.key"
ref uefi > "$KEYS/demo/uefisign/db.key"
ref fitdev > "$KEYS/demo/fitimagesign/dev.key"
ref rkdev > "$KEYS/demo/rksign/dev.key"
mkdir -p artifacts
start_server DIGSIGSERVER_PKCS11_MODULE="$MODULE" DIGSIGSERVER_PKCS11_PIN="$PIN" \
  SOFTHSM2_CONF="$SOFTHSM2_CONF" DIGSIGSERVER_ARTIFACT_DIRS="$WORK/artifacts"

# --- SWUpdate ---------------------------------------------------------------------------
echo 'software = { version = "1.0"; };' > sw-description
curl -s --fail -X POST -F sw-description=@sw-description -F distro=demo -o token.sig "$DIGSIG_SERVER/sign/swupdate"
openssl dgst -sha256 -sign "$FILEKEYS/demo/swupdate/rsa-private.key" -out file.sig sw-description
check "swupdate RSA through the token verifies" \
  openssl dgst -sha256 -verify "$PKI/demo-swupdate-rsa-public.pem" -signature token.sig sw-description
check "  ... and is byte-identical to the file key's signature" cmp token.sig file.sig
curl -s --fail -X POST -F sw-description=@sw-description -F distro=demo -F method=CMS -o token.cms "$DIGSIG_SERVER/sign/swupdate"
check "swupdate CMS with the key on the token verifies against the CA" \
  openssl cms -verify -binary -inform DER -in token.cms -content sw-description -CAfile "$PKI/ca.crt" -purpose any -out /dev/null

# --- kernel modules: byte-identical to sign-file with the same key, from a file -------
mkdir -p tree/lib/modules/6.1/extra
for m in one two three four; do
  printf 'int %s_f(void) { return %d; }\n' $m ${#m} > $m.c && cc -c $m.c -o tree/lib/modules/6.1/extra/$m.ko
done
tar -C tree -czf modules.tar.gz .
curl -s --fail -X POST -F machine=demo -F artifact=@modules.tar.gz -o signed.tar.gz "$DIGSIG_SERVER/sign/modules"
mkdir -p out && tar -C out -xzf signed.tar.gz
identical=0
for m in one two three four; do
  cp tree/lib/modules/6.1/extra/$m.ko ref-$m.ko
  /usr/lib/linux-kbuild-6.1/scripts/sign-file sha512 "$FILEKEYS/demo/kmodsign/kernel-signkey.priv" \
    "$FILEKEYS/demo/kmodsign/kernel-signkey.x509" ref-$m.ko
  cmp -s out/lib/modules/6.1/extra/$m.ko ref-$m.ko && identical=$((identical + 1))
done
check "modules signed in parallel through the token equal sign-file's with the file key ($identical/4)" test "$identical" -eq 4

# --- OP-TEE, Mender, UEFI CMS --------------------------------------------------------------
U=8aaaf200-2450-11e4-abe2-0002a5d5c51b
mkdir -p ta && cp one.c ta/ && cc -c one.c -o "ta/$U.stripped.elf" && rm ta/one.c
tar -C ta -czf ta.tar.gz .
curl -s --fail -X POST -F machine=demo -F artifact=@ta.tar.gz -o ta-out.tar.gz "$DIGSIG_SERVER/sign/optee"
mkdir -p ta-out && tar -C ta-out -xzf ta-out.tar.gz
dd if="ta-out/$U.ta" of=ta.digest bs=1 skip=20 count=32 2>/dev/null
dd if="ta-out/$U.ta" of=ta.sig bs=1 skip=52 count=256 2>/dev/null
check "an OP-TEE TA signed through the token verifies (PSS, salt 32)" \
  openssl pkeyutl -verify -pubin -inkey "$PKI/demo-optee-public.pem" -in ta.digest -sigfile ta.sig \
    -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32
head -c 100000 /dev/urandom > rootfs.ext4
mender-artifact write rootfs-image -t b -n r -f rootfs.ext4 -o artifacts/a.mender >/dev/null 2>&1
curl -s --fail -X POST -F distro=demo -F "artifact-uri=file://$WORK/artifacts/a.mender" "$DIGSIG_SERVER/sign/mender" >/dev/null
check "a Mender artifact signed through the token validates" \
  bash -c "mender-artifact validate -k '$PKI/demo-mender-public.pem' artifacts/a.mender 2>&1 | grep -q 'validated successfully'"
# An ECDSA P-256 key on the token (private and public objects under one label).
openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null
openssl pkey -in ec.pem -pubout -out ec-pub.pem
openssl pkcs8 -topk8 -nocrypt -in ec.pem -outform DER -out ec.der
openssl pkey -in ec.pem -pubout -outform DER -out ec-pub.der
pkcs11-tool --module "$MODULE" --token-label digsig --login --pin "$PIN" --write-object ec.der --type privkey --id 08 --label menderec >/dev/null 2>&1
pkcs11-tool --module "$MODULE" --token-label digsig --login --pin "$PIN" --write-object ec-pub.der --type pubkey --id 08 --label menderec >/dev/null 2>&1
rm -f ec.der ec-pub.der
mkdir -p "$KEYS/ec/mender" && echo "pkcs11:token=digsig;object=menderec;type=private" > "$KEYS/ec/mender/private.key"
mender-artifact write rootfs-image -t b -n r -f rootfs.ext4 -o artifacts/ec.mender >/dev/null 2>&1
curl -s --fail -X POST -F distro=ec -F "artifact-uri=file://$WORK/artifacts/ec.mender" "$DIGSIG_SERVER/sign/mender" >/dev/null
check "a Mender artifact signed with an ECDSA P-256 key on the token validates" \
  bash -c "mender-artifact validate -k ec-pub.pem artifacts/ec.mender 2>&1 | grep -q 'validated successfully'"
cp /usr/lib/systemd/boot/efi/systemd-bootx64.efi app.efi
curl -s --fail -X POST -F machine=demo -F signing_type=signature -F artifact=@app.efi -o app.sig "$DIGSIG_SERVER/sign/tegra/uefi"
check "a UEFI detached CMS signed through the token verifies" \
  openssl cms -verify -binary -inform DER -in app.sig -content app.efi -CAfile "$KEYS/demo/uefisign/db.crt" -purpose any -out /dev/null
curl -s --fail -X POST -F machine=demo -F signing_type=sbsign -F artifact=@app.efi -o app.sbsigned "$DIGSIG_SERVER/sign/tegra/uefi"
check "sbsign with the db key on the token (sbsign --engine pkcs11): sbverify accepts it" \
  bash -c "sbverify --cert '$KEYS/demo/uefisign/db.crt' app.sbsigned 2>&1 | grep -q 'Signature verification OK'"
cp "$FILEKEYS/demo/uefisign/db.key" filedb.key
sbsign --key filedb.key --cert "$KEYS/demo/uefisign/db.crt" --output app.filesigned app.efi >/dev/null 2>&1
# authenticode_shape IMAGE: the image's PKCS#7 signature as openssl prints it,
# without the signing time sbsign puts in and the signature value that covers it.
authenticode_shape() {
  sbattach --detach "$1.p7" "$1" >/dev/null 2>&1 &&
    openssl pkcs7 -inform DER -in "$1.p7" -print -noout |
    awk '/UTCTIME:/ { next } /enc_digest:/ { hex = 1; next } hex && /^ *[0-9a-f][0-9a-f][0-9a-f][0-9a-f] - / { next } { hex = 0; print }'
}
check "  ... and equals sbsign's with the same key from a file (all but signing time and the value over it)" \
  bash -c "$(declare -f authenticode_shape); diff <(authenticode_shape app.sbsigned) <(authenticode_shape app.filesigned) && grep -q messageDigest <(authenticode_shape app.sbsigned)"
# --- U-Boot FIT: mkimage -N pkcs11 -------------------------------------------------------
head -c 4096 /dev/urandom > kernel.bin
cat > fit.its <<'EOD'
/dts-v1/;
/ {
  description = "digsigserver token FIT";
  #address-cells = <1>;
  images {
    kernel {
      data = /incbin/("kernel.bin");
      type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
      load = <0x80000>; entry = <0x80000>;
      hash-1 { algo = "sha256"; };
      signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; };
    };
  };
  configurations {
    default = "conf-1";
    conf-1 { kernel = "kernel"; signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel"; }; };
  };
};
EOD
mkimage -f fit.its fitImage >/dev/null
echo '/dts-v1/; / { model = "u-boot control"; };' | dtc -I dts -O dtb -o u-boot.dtb 2>/dev/null
hexof() { fdtget -t bx "$1" "$2" "$3" | awk '{for (i = 1; i <= NF; i++) printf "%02s", $i}' | tr ' ' 0; }
openssl x509 -in "$KEYS/demo/fitimagesign/dev.crt" -pubkey -noout > fitdev.pub
# verify_fit FITIMAGE [DTB [PUBLIC-KEY]]: the kernel signature verifies with
# the public key (default: fitimagesign's dev), and the DTB carries it.
verify_fit() {
  local pub=${3:-fitdev.pub}
  hexof "$1" /images/kernel/signature-1 value | xxd -r -p > fit.sig &&
    openssl dgst -sha256 -verify "$pub" -signature fit.sig kernel.bin >/dev/null &&
    { [ -z "${2:-}" ] || [ "$(hexof "$2" /signature/key-dev rsa,modulus)" = "$(openssl rsa -pubin -in "$pub" -modulus -noout | cut -d= -f2 | tr A-F a-f)" ]; }
}
curl -s --fail -X POST -F artifact=@fitImage -F dtb=@u-boot.dtb -F machine=demo -F mark_required=1 \
     -o fit-token.tar.gz "$DIGSIG_SERVER/sign/fitimage"
mkdir -p fitx && tar -C fitx -xzf fit-token.tar.gz
check "FIT with dev.key on the token (mkimage -N pkcs11): the signature verifies and the DTB has the key" \
  verify_fit fitx/fitImage fitx/u-boot.dtb
# Rockchip fit-image runs the same mkimage: its dev.key on the token too.
rm -rf rkin && mkdir rkin && cp fit.its kernel.bin rkin/ && cp u-boot.dtb rkin/uboot.dtb
(cd rkin && tar -c -h -z -f ../rkin.tar.gz fit.its kernel.bin uboot.dtb)
curl -s --fail -X POST -F machine=demo -F soctype=rk3588 -F artifact_type=fit-image -F artifact=@rkin.tar.gz \
     -o rk-token.tar.gz "$DIGSIG_SERVER/sign/rk"
rm -rf rkx && mkdir rkx && tar -C rkx -xzf rk-token.tar.gz
check "Rockchip fit-image with dev.key on the token: the signature verifies with rksign's key and uboot.dtb has it" \
  verify_fit rkx/fitImage rkx/uboot.dtb "$KEYS/demo/rksign/dev.pubkey"
check "the PIN is in no log line or response" not_in "$PIN" "$WORK/server.log" token.sig fit-token.tar.gz rk-token.tar.gz app.sbsigned

# --- SWUpdate's compatibility fields: backend=pkcs11 with a client key-uri ------------------
# As the original: the PIN comes from DIGSIGSERVER_YUBIHSM_PASSWORD for pin-value=password.
start_server DIGSIGSERVER_PKCS11_MODULE="$MODULE" DIGSIGSERVER_YUBIHSM_PASSWORD="$PIN" \
  SOFTHSM2_CONF="$SOFTHSM2_CONF"
URI="pkcs11:token=digsig;object=swu;type=private;pin-value=password"
curl -s --fail -X POST -F sw-description=@sw-description -F backend=pkcs11 --form-string "key-uri=$URI" \
     -o keyuri.sig "$DIGSIG_SERVER/sign/swupdate"
check "backend=pkcs11 with key-uri (no distro): the RSA signature verifies" \
  openssl dgst -sha256 -verify "$PKI/demo-swupdate-rsa-public.pem" -signature keyuri.sig sw-description
check "  ... and equals the file key's" cmp keyuri.sig file.sig
curl -s --fail -X POST -F sw-description=@sw-description -F backend=pkcs11 -F method=CMS -F distro=demo \
     --form-string "key-uri=pkcs11:token=digsig;object=swucms;type=private;pin-value=password" \
     -o keyuri.cms "$DIGSIG_SERVER/sign/swupdate"
check "backend=pkcs11, method=CMS: distro's cms.cert with the key-uri key verifies" \
  openssl cms -verify -binary -inform DER -in keyuri.cms -content sw-description -CAfile "$PKI/ca.crt" -purpose any -out /dev/null
curl -s --fail -X POST -F artifact=@fitImage -F backend=pkcs11 \
     --form-string "keyname=pkcs11:token=digsig;object=fitdev;pin-value=password" \
     -o fit-client.signed "$DIGSIG_SERVER/sign/fitimage"
check "FIT backend=pkcs11 with keyname as a URI: the signature verifies" verify_fit fit-client.signed
expect_error "FIT backend=pkcs11 without keyname" 400 "needs keyname" /sign/fitimage -F artifact=@fitImage -F backend=pkcs11
expect_error "backend=pkcs11 without key-uri" 400 "Key URI missing for PKCS#11 backend" /sign/swupdate -F sw-description=@sw-description -F backend=pkcs11
expect_error "a key-uri that names a module" 400 "may not name a module" /sign/swupdate -F sw-description=@sw-description -F backend=pkcs11 --form-string "key-uri=pkcs11:token=digsig;object=swu?module-path=/tmp/evil.so"
expect_error "a key-uri that is not pkcs11:" 400 "is not a pkcs11: URI" /sign/swupdate -F sw-description=@sw-description -F backend=pkcs11 --form-string "key-uri=file:///etc/passwd"
expect_error "CMS with a key-uri whose key is not cms.cert's" 500 "is not the certificate of the key-uri key" /sign/swupdate -F sw-description=@sw-description -F backend=pkcs11 -F method=CMS -F distro=demo --form-string "key-uri=$URI"
expect_error "a key-uri naming no key on the token: 503" 503 "could not be loaded from the PKCS#11 token" /sign/swupdate -F sw-description=@sw-description -F backend=pkcs11 --form-string "key-uri=pkcs11:token=digsig;object=nothere;type=private;pin-value=password"
check "the PIN substituted into key-uri is in no log line, audit record or response" \
  not_in "$PIN" "$WORK/server.log" "$WORK/body" keyuri.sig
check "  ... and the log names the key-uri without it" \
  grep -qF 'key-uri pkcs11:token=digsig;object=swu;type=private' "$WORK/server.log"

# --- i.MX: CST's own PKCS#11 back end with the CSF and IMG keys and certificates on the token.
mkdir -p imxpki && tar -C imxpki -xzf "$FILEKEYS/demo/imxsign/imx-cst-keys.tar.gz"
imx_id=20
for n in CSF1 IMG1; do
  name=${n}_1_sha256_2048_65537_v3_usr
  imx_id=$((imx_id + 1))
  openssl pkcs8 -topk8 -nocrypt -passin pass:"$(head -1 imxpki/keys/key_pass.txt)" \
    -in "imxpki/keys/${name}_key.pem" -outform DER -out imx.der
  pkcs11-tool --module "$MODULE" --token-label digsig --login --pin "$PIN" \
    --write-object imx.der --type privkey --label "$name" --id "$imx_id" >/dev/null 2>&1
  openssl x509 -in "imxpki/crts/${name}_crt.pem" -outform DER -out imx.der
  pkcs11-tool --module "$MODULE" --token-label digsig --login --pin "$PIN" \
    --write-object imx.der --type cert --label "$name" --id "$imx_id" >/dev/null 2>&1
done
rm -f imx.der
head -c 16384 /dev/urandom > flash.bin
cat > imx-csf.txt <<'EOD'
[Header]
    Version = 4.3
    Hash Algorithm = sha256
    Engine = CAAM
    Engine Configuration = 0
    Certificate Format = X509
    Signature Format = CMS

[Install SRK]
    File = "crts/SRK_1_2_3_4_table.bin"
    Source index = 0

[Install CSFK]
    File = "pkcs11:token=digsig;object=CSF1_1_sha256_2048_65537_v3_usr;type=cert;pin-value=password"

[Authenticate CSF]

[Install Key]
    Verification index = 0
    Target Index = 2
    File = "pkcs11:token=digsig;object=IMG1_1_sha256_2048_65537_v3_usr;type=cert;pin-value=password"

[Authenticate Data]
    Verification index = 2
    Blocks = 0x7e0fc0 0x0 0x2000 "flash.bin"
EOD
stop_server
start_server DIGSIGSERVER_PKCS11_MODULE="$MODULE" DIGSIGSERVER_YUBIHSM_PASSWORD="$PIN" \
  SOFTHSM2_CONF="$SOFTHSM2_CONF" DIGSIGSERVER_IMX_CST_BASE="$DIGSIG_CST_BASE"
post /sign/imx -F machine=demo -F soctype=mx8m -F cstversion=3.4.1 -F backend=pkcs11 \
     -F csf=@imx-csf.txt -F artifact=@flash.bin
cp "$WORK/body" imx-token.csf
check "i.MX backend=pkcs11 answers 200 (body: $(head -c 300 "$WORK/body" | tr -cd '[:print:]'))" test "$STATUS" = 200
rm -rf imxparsed && mkdir imxparsed
(cd imxparsed && "$DIGSIG_CST_BASE/cst-3.4.1/linux64/bin/csf_parser" -c ../imx-token.csf > parse.log 2>&1)
head -c 8192 flash.bin > imx-block.bin
openssl x509 -in imxpki/crts/IMG1_1_sha256_2048_65537_v3_usr_crt.pem -out imx-img.pem
imx_ok=0
for sig in imxparsed/output/sig*.bin; do
  openssl cms -verify -inform DER -in "$sig" -content imx-block.bin -binary -noverify -certfile imx-img.pem -out /dev/null 2>/dev/null && imx_ok=1
done
check "i.MX backend=pkcs11 (CST -b pkcs11, keys on the token): the image signature in the CSF verifies" test "$imx_ok" = 1
check "  ... and the CSF's SRK table is the key set's" cmp imxparsed/output/SRKTable.bin imxpki/crts/SRK_1_2_3_4_table.bin

# --- 64 concurrent requests against a token limited to 4 operations at once ----------
start_server DIGSIGSERVER_PKCS11_MODULE="$MODULE" DIGSIGSERVER_PKCS11_PIN="$PIN" \
  SOFTHSM2_CONF="$SOFTHSM2_CONF" DIGSIGSERVER_PKCS11_MAX_OPS=4 DIGSIGSERVER_MAX_JOBS=16
mkdir -p many
pids=()
for i in $(seq 1 64); do
  echo "# $i" | cat sw-description - > many/sw-$i
  curl -s --fail -X POST -F "sw-description=@many/sw-$i" -F distro=demo -o "many/sw-$i.sig" \
       "$DIGSIG_SERVER/sign/swupdate" &
  pids+=($!)
done
wait "${pids[@]}"
ok=0
for i in $(seq 1 64); do
  openssl dgst -sha256 -verify "$PKI/demo-swupdate-rsa-public.pem" -signature "many/sw-$i.sig" "many/sw-$i" >/dev/null 2>&1 && ok=$((ok + 1))
done
check "64 concurrent requests through a token limited to 4 operations all succeed and verify ($ok/64)" test "$ok" -eq 64
curl -s "$DIGSIG_SERVER/signers" > signers.json
check "  ... the bound engages (token keys are recognised) and never more than 4 run at once (peak $(jq .pkcs11.peak signers.json))" \
  jq -e '.pkcs11.configured and .pkcs11.opened and .pkcs11.max_operations == 4 and .pkcs11.peak <= 4 and .pkcs11.peak >= 1' signers.json
check "/signers says per signer which keys are on a token and that the token is present" \
  jq -e '(.signers[] | select(.name == "swupdate") | .token | .keys_on_token == 2 and .tokens == [{"token": "digsig", "present": true}])
         and (.signers[] | select(.name == "modules") | .token.keys_on_token == 1)
         and (.signers[] | select(.name == "fitimage") | .token.keys_on_token == 1)
         and (.signers[] | select(.name == "imx") | .token == null)' signers.json

# --- a certificate on the token too ---------------------------------------------------------
openssl x509 -in "$FILEKEYS/demo/swupdate/cms.cert" -outform DER -out cms.der
pkcs11-tool --module "$MODULE" --token-label digsig --login --pin "$PIN" \
  --write-object cms.der --type cert --id 02 --label swucms >/dev/null 2>&1
echo "pkcs11:token=digsig;object=swucms;type=cert" > "$KEYS/demo/swupdate/cms.cert"
curl -s --fail -X POST -F sw-description=@sw-description -F distro=demo -F method=CMS -o tokencert.cms "$DIGSIG_SERVER/sign/swupdate"
check "CMS with both the key and its certificate on the token verifies against the CA" \
  openssl cms -verify -binary -inform DER -in tokencert.cms -content sw-description -CAfile "$PKI/ca.crt" -purpose any -out /dev/null
check "  ... and carries the token's certificate" \
  bash -c "openssl cms -cmsout -print -inform DER -in tokencert.cms | grep -q 'CN=demo swupdate signer'"
cp "$FILEKEYS/demo/swupdate/cms.cert" "$KEYS/demo/swupdate/cms.cert"

# --- the token disappears and is re-created while the server runs -------------------------
start_server DIGSIGSERVER_PKCS11_MODULE="$MODULE" DIGSIGSERVER_PKCS11_PIN="$PIN" \
  SOFTHSM2_CONF="$SOFTHSM2_CONF" DIGSIGSERVER_PKCS11_REINIT_INTERVAL=2
check "before the reset: a token signature" \
  curl -s --fail -X POST -F sw-description=@sw-description -F distro=demo -o /dev/null "$DIGSIG_SERVER/sign/swupdate"
mv tokens tokens.saved && mkdir tokens
expect_error "the token removed while the server runs: 503 naming the token" 503 "PKCS#11 token" /sign/swupdate -F sw-description=@sw-description -F distro=demo
expect_error "  ... and again while it is gone" 503 "PKCS#11 token" /sign/swupdate -F sw-description=@sw-description -F distro=demo
check "  ... /signers reports the token as not present" \
  bash -c "curl -s '$DIGSIG_SERVER/signers' | jq -e '.signers[] | select(.name == \"swupdate\") | .token.tokens == [{\"token\": \"digsig\", \"present\": false}]' >/dev/null"
# Re-initialise the token directory: a new token with the same label, the key imported again.
softhsm2-util --init-token --free --label digsig --pin "$PIN" --so-pin 0000 >/dev/null
import "$FILEKEYS/demo/swupdate/rsa-private.key" 01 swu
sleep 2.2
curl -s --fail -X POST -F sw-description=@sw-description -F distro=demo -o after-reset.sig "$DIGSIG_SERVER/sign/swupdate"
check "after the token was re-created, signing works again without a restart" \
  openssl dgst -sha256 -verify "$PKI/demo-swupdate-rsa-public.pem" -signature after-reset.sig sw-description
check "  ... /signers counts the module's re-initialisations" \
  bash -c "curl -s '$DIGSIG_SERVER/signers' | jq -e '.pkcs11.reinits >= 1' >/dev/null"
rm -rf tokens && mv tokens.saved tokens

# --- a wrong PIN ---------------------------------------------------------------------------
start_server DIGSIGSERVER_PKCS11_MODULE="$MODULE" DIGSIGSERVER_PKCS11_PIN=Wrong-9999 SOFTHSM2_CONF="$SOFTHSM2_CONF"
expect_error "a wrong PIN: 503 saying the token refused or lacks the key" 503 "the PIN was refused" /sign/swupdate -F sw-description=@sw-description -F distro=demo
check "  ... and the wrong PIN is in no log line or response" not_in Wrong-9999 "$WORK/server.log" "$WORK/body"
check "  ... and the server never prompted for a PIN on its terminal" not_in 'Enter PKCS#11 token PIN' "$WORK/server.log"

it_finish
