#!/usr/bin/env bash
# /sign/optee end to end: every produced .ta is verified independently of
# the signing code (header parsed with od, digest recomputed with openssl,
# signature checked with openssl pkeyutl), tampering is detected, bad input.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init optee
start_server
cd "$WORK"
PUB=$PKI/demo-optee-public.pem

U1=8aaaf200-2450-11e4-abe2-0002a5d5c51b
U2=5b9e0e40-2636-11e1-ad9e-0002a5d5c51b
U3=D96A5B40-E2C7-B1AB-F5D8-5C1A7D5D7A3E
mkdir -p in/ta in/deep/nested/dir
for u in $U1 $U2 $U3; do
  printf 'int ta_entry_%s(void) { return %d; }\n' "${u:0:8}" "${#u}" > "ta-$u.c"
  cc -c -O1 "ta-$u.c" -o "ta-$u.o"
done
cp "ta-$U1.o" "in/ta/$U1.stripped.elf" && echo 3 > "in/ta/$U1.ta-version"
cp "ta-$U2.o" "in/deep/nested/dir/$U2.stripped.elf"                    # no version: 0
cp "ta-$U3.o" "in/ta/$U3.stripped.elf" && printf ' 0x10\n' > "in/ta/$U3.ta-version"
echo keep > in/ta/README
tar -C in -czf optee-in.tar.gz .

le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
le16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }

# verify_ta TA ELF UUID VERSION PADDING: the TA's header, digest and signature
# are what optee_os checks; PADDING is pss or pkcs1.
verify_ta() {
  local ta=$1 elf=$2 uuid=$3 version=$4 padding=$5
  local magic type size algo hsize ssize want_algo off
  magic=$(le32 "$ta" 0); type=$(le32 "$ta" 4); size=$(le32 "$ta" 8); algo=$(le32 "$ta" 12)
  hsize=$(le16 "$ta" 16); ssize=$(le16 "$ta" 18)
  [ "$padding" = pss ] && want_algo=$((0x70414930)) || want_algo=$((0x70004830))
  [ "$magic" = $((0x4f545348)) ] || { echo "bad magic $magic"; return 1; }
  [ "$type" = 1 ] || { echo "not a bootstrap TA: $type"; return 1; }
  [ "$size" = "$(stat -c %s "$elf")" ] || { echo "img_size $size"; return 1; }
  [ "$algo" = "$want_algo" ] || { echo "algo $algo"; return 1; }
  [ "$hsize" = 32 ] && [ "$ssize" = 256 ] || { echo "sizes $hsize $ssize"; return 1; }
  off=$((20 + hsize + ssize))
  [ "$(od -An -tx1 -j "$off" -N16 "$ta" | tr -d ' \n')" = "$(echo "$uuid" | tr -d - | tr A-F a-f)" ] || { echo "uuid"; return 1; }
  [ "$(le32 "$ta" $((off + 16)))" = "$version" ] || { echo "version $(le32 "$ta" $((off + 16)))"; return 1; }
  tail -c +$((off + 20 + 1)) "$ta" | cmp -s - "$elf" || { echo "image differs"; return 1; }
  # The digest: SHA-256 over shdr, uuid, version and image.
  { head -c 20 "$ta"; tail -c +$((off + 1)) "$ta"; } | openssl dgst -sha256 -binary > digest.calc
  dd if="$ta" of=digest.ta bs=1 skip=20 count=32 2>/dev/null
  cmp -s digest.calc digest.ta || { echo "digest mismatch"; return 1; }
  dd if="$ta" of=sig.ta bs=1 skip=52 count="$ssize" 2>/dev/null
  if [ "$padding" = pss ]; then
    openssl pkeyutl -verify -pubin -inkey "$PUB" -in digest.calc -sigfile sig.ta \
      -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 >/dev/null
  else
    openssl pkeyutl -verify -pubin -inkey "$PUB" -in digest.calc -sigfile sig.ta \
      -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pkcs1 >/dev/null
  fi
}

curl --silent --fail -X POST -F machine=demo -F artifact=@optee-in.tar.gz --output optee-out.tar.gz \
     "$DIGSIG_SERVER/sign/optee"
mkdir -p out && tar -C out -xzf optee-out.tar.gz
check "TA with ta-version 3 verifies (PSS, salt 32)" verify_ta "out/ta/$U1.ta" "ta-$U1.o" $U1 3 pss
check "TA in a nested directory without ta-version gets version 0" \
  verify_ta "out/deep/nested/dir/$U2.ta" "ta-$U2.o" $U2 0 pss
check "TA with an upper-case UUID and a 0x-hex version verifies" verify_ta "out/ta/$U3.ta" "ta-$U3.o" $U3 16 pss
check "inputs are removed, other files kept" \
  bash -c "[ -z \"\$(find out -name '*.stripped.elf' -o -name '*.ta-version')\" ] && [ \"\$(cat out/ta/README)\" = keep ]"
cp "out/ta/$U1.ta" tampered.ta
size=$(stat -c %s tampered.ta)
printf '\x5a' | dd of=tampered.ta bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
check "flipping one byte of the ELF makes verification fail" \
  bash -c "$(declare -f le32 le16 verify_ta); PUB='$PUB'; ! verify_ta tampered.ta 'ta-$U1.o' $U1 3 pss >/dev/null 2>&1"

curl -s --fail -X POST -F machine=demo -F algo=TEE_ALG_RSASSA_PKCS1_V1_5_SHA256 -F artifact=@optee-in.tar.gz \
     --output pkcs1.tar.gz "$DIGSIG_SERVER/sign/optee"
mkdir -p pkcs1 && tar -C pkcs1 -xzf pkcs1.tar.gz
check "algo=TEE_ALG_RSASSA_PKCS1_V1_5_SHA256 gives a PKCS#1 v1.5 TA" verify_ta "pkcs1/ta/$U1.ta" "ta-$U1.o" $U1 3 pkcs1

# --- bad input -------------------------------------------------------------------
mkdir -p baduuid && cp "ta-$U1.o" baduuid/not-a-uuid.stripped.elf && tar -C baduuid -czf baduuid.tar.gz .
expect_error "file not named by a UUID" 400 "'not-a-uuid.stripped.elf' is not named <uuid>.stripped.elf" /sign/optee -F machine=demo -F artifact=@baduuid.tar.gz
mkdir -p badver && cp "ta-$U1.o" "badver/$U1.stripped.elf" && echo "three" > "badver/$U1.ta-version" && tar -C badver -czf badver.tar.gz .
expect_error "ta-version that is not a number" 400 "'$U1.ta-version' must hold a TA version" /sign/optee -F machine=demo -F artifact=@badver.tar.gz
expect_error "unknown algo" 400 "algo 'TEE_ALG_ECDSA_P256' is not supported" /sign/optee -F machine=demo -F algo=TEE_ALG_ECDSA_P256 -F artifact=@optee-in.tar.gz
mkdir -p "$KEYS/ecmachine/opteesign" && openssl ecparam -name prime256v1 -genkey -noout -out "$KEYS/ecmachine/opteesign/optee-signing-key.pem"
expect_error "a key that is not RSA" 400 "key 'optee-signing-key.pem' (opteesign) of 'ecmachine' is not an RSA key" /sign/optee -F machine=ecmachine -F artifact=@optee-in.tar.gz
expect_error "unknown machine" 404 "no opteesign keys are configured for 'nope'" /sign/optee -F machine=nope -F artifact=@optee-in.tar.gz
expect_error "missing machine" 400 "Machine name missing" /sign/optee -F artifact=@optee-in.tar.gz
head -c 999 /dev/urandom > junk.bin
expect_error "not a tarball" 400 "not a gzip-compressed tar archive" /sign/optee -F machine=demo -F artifact=@junk.bin
mkdir -p evil && ln -s / evil/root && tar -C evil -czf evil.tar.gz .
expect_error "symlink to /" 400 "points outside the archive" /sign/optee -F machine=demo -F artifact=@evil.tar.gz
check "no key material in the server log" no_secrets_in "$WORK/server.log"

it_finish
