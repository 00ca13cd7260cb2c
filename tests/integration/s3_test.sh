#!/usr/bin/env bash
# S3 end to end against s3rver on loopback: the key store on s3://, Mender
# artifacts signed in place at s3:// URIs (downloaded with the AWS CLI and
# validated with mender-artifact), S3 errors as clear statuses, no
# credentials in logs or messages.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init s3
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER-Secret-4711 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$DIGSIG_S3_PORT"
S3="aws --endpoint-url $AWS_ENDPOINT_URL s3"
$S3 cp --recursive "$KEYS" s3://keys/store/ >/dev/null
# it_lib starts the server with env -i: pass the AWS settings explicitly.
aws_env=(AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
         AWS_DEFAULT_REGION="$AWS_DEFAULT_REGION" AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL")
start_server DIGSIGSERVER_KEYFILE_URI=s3://keys/store "${aws_env[@]}"
cd "$WORK"

# --- keys from S3 -------------------------------------------------------------------
echo 'software = { version = "1.0"; };' > sw-description
curl -s --fail -X POST -F sw-description=@sw-description -F distro=demo -F method=RSA \
     --output sw-description.sig "$DIGSIG_SERVER/sign/swupdate"
check "a key read from s3:// signs, and the signature verifies" \
  openssl dgst -sha256 -verify "$PKI/demo-swupdate-rsa-public.pem" -signature sw-description.sig sw-description
expect_error "an unknown selector on S3" 404 "no swupdate keys are configured for 'nosuch'" /sign/swupdate -F distro=nosuch -F sw-description=@sw-description
$S3 cp "$KEYS/demo/swupdate/cms.cert" s3://keys/store/half/swupdate/cms.cert >/dev/null
expect_error "a key missing on S3" 404 "key 'rsa-private.key' (swupdate) of 'half' does not exist" /sign/swupdate -F distro=half -F sw-description=@sw-description

# --- Mender artifacts on S3 -------------------------------------------------------------
head -c 12000000 /dev/urandom > rootfs.ext4
mender-artifact write rootfs-image -t board -n rel-1 -f rootfs.ext4 -o a.mender --compression none >/dev/null 2>&1
$S3 cp a.mender s3://artifacts/builds/a.mender >/dev/null
curl --silent --fail -X POST -F distro=demo -F artifact-uri=s3://artifacts/builds/a.mender \
     "$DIGSIG_SERVER/sign/mender" > response.txt
$S3 cp s3://artifacts/builds/a.mender signed.mender >/dev/null
check "an s3:// artifact (12 MB: two upload parts) is signed in place and validates" \
  bash -c "grep -q 'Signed s3://artifacts/builds/a.mender' response.txt && mender-artifact validate -k '$PKI/demo-mender-public.pem' signed.mender 2>&1 | grep -q 'validated successfully'"
check "its payload is unchanged" cmp <(tar -xOf a.mender data/0000.tar.gz) <(tar -xOf signed.mender data/0000.tar.gz)
check "no file of the artifact's size was written to the spool" bash -c "[ \$(du -sk '$SPOOL' | cut -f1) -lt 1000 ]"
head -c 4000 /dev/urandom > junk.bin
$S3 cp junk.bin s3://artifacts/builds/junk.mender >/dev/null
expect_error "a corrupt object" 400 "not a Mender artifact" /sign/mender -F distro=demo -F artifact-uri=s3://artifacts/builds/junk.mender
$S3 cp s3://artifacts/builds/junk.mender junk.back >/dev/null
check "  ... is left as it was" cmp junk.bin junk.back
# s3rver implements neither ListMultipartUploads nor AbortMultipartUpload
# (it answers 405), so what can be checked here is that the server aborts.
check "  ... and the server aborts its unfinished upload (no orphan parts on real S3)" \
  grep -qE 'abort(ed)? (the unfinished )?(the )?upload to s3://artifacts/builds/junk.mender' "$WORK/server.log"
expect_error "an object that does not exist" 404 "no object at s3://artifacts/builds/none.mender" /sign/mender -F distro=demo -F artifact-uri=s3://artifacts/builds/none.mender
expect_error "a malformed s3 URI" 400 "is not s3://<bucket>/<key>" /sign/mender -F distro=demo -F artifact-uri=s3://bucketonly
check "no credentials in the log or the responses" not_in S3RVER-Secret-4711 "$WORK/server.log" "$WORK/body" response.txt

# --- faults: S3 stops during the upload; the client goes away ----------------------
head -c 150000000 /dev/urandom > big.ext4
mender-artifact write rootfs-image -t board -n rel-2 -f big.ext4 -o big.mender --compression none >/dev/null 2>&1
$S3 cp big.mender s3://artifacts/builds/big.mender >/dev/null
post_status=$WORK/fault.status
(curl -s -o "$WORK/fault.body" -w '%{http_code}' -X POST -F distro=demo \
   -F artifact-uri=s3://artifacts/builds/big.mender "$DIGSIG_SERVER/sign/mender" > "$post_status") &
req=$!
sleep 0.4
"$DIGSIG_SOURCE_DIR/tests/support/s3rver.sh" stop "$DIGSIG_S3_DIR"
wait "$req"
"$DIGSIG_SOURCE_DIR/tests/support/s3rver.sh" start "$DIGSIG_S3_DIR" "$DIGSIG_S3_PORT" keep
check "S3 stopped during the upload: a 5xx naming the URI" \
  bash -c "[[ \"\$(cat '$post_status')\" == 50[24] ]] && grep -q 's3://artifacts/builds/big.mender' '$WORK/fault.body'"
$S3 cp s3://artifacts/builds/big.mender big.back >/dev/null
check "  ... and the object is the original, whole" cmp big.mender big.back
check "  ... nothing left in the spool" spool_empty

mkdir -p "$WORK/artifacts" && cp big.mender "$WORK/artifacts/big.mender" && cp big.mender original-big.mender
start_server DIGSIGSERVER_KEYFILE_URI="file://$KEYS" DIGSIGSERVER_ARTIFACT_DIRS="$WORK/artifacts"
curl -s -m 0.2 -X POST -F distro=demo -F "artifact-uri=file://$WORK/artifacts/big.mender" "$DIGSIG_SERVER/sign/mender" >/dev/null
for _ in $(seq 1 100); do grep -q 'POST /sign/mender' "$WORK/server.log" && break; sleep 0.1; done
check "a client that goes away mid-way: no temporary file is left beside the artifact" \
  bash -c "[ -z \"\$(ls -A '$WORK/artifacts' | grep -v '^big.mender\$')\" ]"
check "  ... and the artifact is either the original or completely signed" \
  bash -c "cmp -s '$WORK/artifacts/big.mender' original-big.mender || mender-artifact validate -k '$PKI/demo-mender-public.pem' '$WORK/artifacts/big.mender' >/dev/null 2>&1"

# --- S3 endpoint down -----------------------------------------------------------------
start_server DIGSIGSERVER_KEYFILE_URI="file://$KEYS" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER-Secret-4711 AWS_ENDPOINT_URL=http://127.0.0.1:9
expect_error "an S3 endpoint that is down: 502 naming the URI" 502 "cannot reach the S3 endpoint for s3://artifacts/builds/a.mender" /sign/mender -F distro=demo -F artifact-uri=s3://artifacts/builds/a.mender
check "  ... without credentials in the message" not_in S3RVER-Secret-4711 "$WORK/body" "$WORK/server.log"

it_finish
