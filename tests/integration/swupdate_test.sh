#!/usr/bin/env bash
# /sign/swupdate end to end: the client's curl call, verification with
# openssl and acceptance by the real SWUpdate, bad input, concurrency.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init swupdate
start_server
cd "$WORK"

# A small update: an image and a sw-description with hardware compatibility
# and the image's sha256, as SWUpdate requires for signed images.
head -c 8192 /dev/urandom > image.bin
cat > sw-description <<EOD
software =
{
  version = "1.0.0";
  hardware-compatibility: [ "1.0" ];
  images: (
    {
      filename = "image.bin";
      device = "/dev/null";
      type = "raw";
      sha256 = "$(sha256sum image.bin | cut -d' ' -f1)";
    }
  );
}
EOD
DISTRO=demo

# --- RSA, exactly as the swupdatesign client class calls it -------------
curl --fail -X POST -F sw-description=@sw-description -F distro=$DISTRO -F method=RSA \
     --output sw-description.sig "$DIGSIG_SERVER/sign/swupdate"
check "RSA signature verifies with openssl dgst" \
  openssl dgst -sha256 -verify "$PKI/demo-swupdate-rsa-public.pem" -signature sw-description.sig sw-description
cp sw-description tampered && echo "# changed" >> tampered
check "RSA signature does not verify a changed sw-description" \
  bash -c "! openssl dgst -sha256 -verify '$PKI/demo-swupdate-rsa-public.pem' -signature sw-description.sig tampered"

curl -s --fail -X POST -F sw-description=@sw-description -F distro=$DISTRO --output default.sig "$DIGSIG_SERVER/sign/swupdate"
check "method defaults to RSA (PKCS#1 v1.5, deterministic)" cmp default.sig sw-description.sig

# --- RSA-PSS (extension) --------------------------------------------------
curl -s --fail -X POST -F sw-description=@sw-description -F distro=$DISTRO -F method=RSAPSS \
     --output pss.sig "$DIGSIG_SERVER/sign/swupdate"
check "RSAPSS signature verifies with rsa_padding_mode:pss" \
  openssl dgst -sha256 -sigopt rsa_padding_mode:pss -verify "$PKI/demo-swupdate-rsa-public.pem" -signature pss.sig sw-description
check "RSAPSS signature is not a PKCS#1 v1.5 one" \
  bash -c "! openssl dgst -sha256 -verify '$PKI/demo-swupdate-rsa-public.pem' -signature pss.sig sw-description"

# --- CMS --------------------------------------------------------------------
curl -s --fail -X POST -F sw-description=@sw-description -F distro=$DISTRO -F method=CMS \
     --output cms.sig "$DIGSIG_SERVER/sign/swupdate"
check "CMS signature verifies against the CA" \
  openssl cms -verify -binary -inform DER -in cms.sig -content sw-description -CAfile "$PKI/ca.crt" -purpose any -out /dev/null
check "CMS signature does not verify a changed sw-description" \
  bash -c "! openssl cms -verify -binary -inform DER -in cms.sig -content tampered -CAfile '$PKI/ca.crt' -purpose any -out /dev/null 2>/dev/null"
check "CMS signature has no S/MIME capabilities attribute and includes the signer certificate" \
  bash -c "openssl cms -cmsout -print -inform DER -in cms.sig > cms.txt && ! grep -q 'SMIMECapabilities' cms.txt && grep -q 'demo swupdate signer' cms.txt"

# SWUpdate itself: a .swu (cpio -H crc: sw-description, its signature, the image).
swupdate_check() {  # swupdate_check SWU: prints SWUpdate's output
  local t
  t=$(mktemp -d "$WORK/swupdate-tmp.XXXXXX")
  TMPDIR=$t timeout 60 swupdate -c -i "$1" -k "$PKI/ca.crt" -H board:1.0 -l 5 2>&1
  rm -rf "$t"
}
cp cms.sig sw-description.sig
printf '%s\n' sw-description sw-description.sig image.bin | cpio -o -H crc > good.swu 2>/dev/null
swupdate_check good.swu > swupdate-good.log
check "SWUpdate verifies the CMS signature (Verified OK)" grep -q "Verified OK" swupdate-good.log
mkdir -p bad && cp sw-description.sig image.bin bad/ && cp tampered bad/sw-description
(cd bad && printf '%s\n' sw-description sw-description.sig image.bin | cpio -o -H crc > ../bad.swu 2>/dev/null)
swupdate_check bad.swu > swupdate-bad.log
check "SWUpdate refuses a tampered sw-description" \
  bash -c "! grep -q 'Verified OK' swupdate-bad.log && grep -q 'Signature verification failed' swupdate-bad.log"

# --- bad input: status, message, and nothing left in the spool -----------
expect_error "missing distro" 400 "Distro name missing" /sign/swupdate -F sw-description=@sw-description
expect_error "missing sw-description" 400 "'sw-description' is missing" /sign/swupdate -F distro=demo
expect_error "sw-description sent as text" 400 "must be sent as a file" /sign/swupdate -F distro=demo -F sw-description=text
expect_error "unknown method" 400 "unknown method 'ECDSA'" /sign/swupdate -F distro=demo -F method=ECDSA -F sw-description=@sw-description
expect_error "distro ../etc" 400 "distro '../etc'" /sign/swupdate -F distro=../etc -F sw-description=@sw-description
expect_error "distro with a slash" 400 "distro 'a/b'" /sign/swupdate -F distro=a/b -F sw-description=@sw-description
expect_error "unknown distro" 404 "no swupdate keys are configured for 'nosuchdistro'" /sign/swupdate -F distro=nosuchdistro -F sw-description=@sw-description
mkdir -p "$KEYS/nokey/swupdate"
expect_error "key file missing" 404 "key 'rsa-private.key' (swupdate) of 'nokey' does not exist" /sign/swupdate -F distro=nokey -F sw-description=@sw-description
mkdir -p "$KEYS/garbage/swupdate" && echo "not a key" > "$KEYS/garbage/swupdate/rsa-private.key"
expect_error "key file that is not a key" 500 "key 'rsa-private.key' (swupdate) of 'garbage' is not a usable private key" /sign/swupdate -F distro=garbage -F sw-description=@sw-description
cp "$KEYS/demo/swupdate/rsa-private.key" "$KEYS/garbage/swupdate/cms-private.key"
cp "$KEYS/demo/swupdate/cms.cert" "$KEYS/garbage/swupdate/cms.cert"
expect_error "CMS certificate that does not match the key" 500 "does not match the private key" /sign/swupdate -F distro=garbage -F method=CMS -F sw-description=@sw-description
expect_error "wrong content type" 415 "takes multipart/form-data" /sign/swupdate --data-urlencode distro=demo
expect_error "duplicate field" 400 "sent more than once" /sign/swupdate -F distro=demo -F distro=other -F sw-description=@sw-description

# A truncated multipart body: the closing boundary is missing.
printf -- '--XyZ\r\nContent-Disposition: form-data; name="distro"\r\n\r\ndemo\r\n--XyZ\r\nContent-Disposition: form-data; name="sw-description"; filename="sw-description"\r\n\r\nsoftware = {};\r\n' > truncated.body
expect_error "truncated multipart body" 400 "truncated or malformed" /sign/swupdate \
  -H "Content-Type: multipart/form-data; boundary=XyZ" --data-binary @truncated.body

check "no key material in the server log or the responses" no_secrets_in "$WORK/server.log" "$WORK/body" sw-description.sig cms.sig

# --- 32 parallel requests: all succeed, all verify --------------------------
mkdir -p parallel
pids=()
for i in $(seq 1 32); do
  echo "# request $i" | cat sw-description - > "parallel/sw-$i"
  curl -s --fail -X POST -F "sw-description=@parallel/sw-$i" -F distro=demo \
       --output "parallel/sw-$i.sig" "$DIGSIG_SERVER/sign/swupdate" &
  pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: the server is a background job too
verified=0
for i in $(seq 1 32); do
  openssl dgst -sha256 -verify "$PKI/demo-swupdate-rsa-public.pem" -signature "parallel/sw-$i.sig" \
    "parallel/sw-$i" >/dev/null 2>&1 && verified=$((verified + 1))
done
check "32 parallel RSA requests all succeed and verify ($verified/32)" test "$verified" -eq 32
check "spool is empty after the parallel requests" spool_empty

it_finish
