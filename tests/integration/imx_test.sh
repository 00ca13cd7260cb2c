#!/usr/bin/env bash
# /sign/imx end to end with NXP's CST 3.4.1 (Debian 13's package, fetched by
# scripts/fetch-cst.sh) and a PKI made by NXP's own script: an HAB4 CSF for an
# i.MX8M image is signed through the server, the binary CSF is taken apart
# with csf_parser, and the image signature in it is verified with openssl
# against the IMG certificate over the signed block.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init imx
[ -x "$DIGSIG_CST_BASE/cst-3.4.1/linux64/bin/cst" ] || { echo "FAIL - CST is missing (the it.setup_cst fixture fetches it)"; exit 1; }
# A CST base with the real 3.4.1 and a "0.0.1" whose cst pauses before
# running the real one, so that the spool can be looked at during a request.
mkdir -p "$WORK/nxp/cst-0.0.1/linux64/bin"
ln -s "$DIGSIG_CST_BASE/cst-3.4.1" "$WORK/nxp/cst-3.4.1"
printf '#!/bin/sh\nsleep 2\nexec %s "$@"\n' "$DIGSIG_CST_BASE/cst-3.4.1/linux64/bin/cst" > "$WORK/nxp/cst-0.0.1/linux64/bin/cst"
chmod +x "$WORK/nxp/cst-0.0.1/linux64/bin/cst"
# "0.0.2" records what it was given (its arguments, and whether the CSF holds
# the configured PIN: a count, not the PIN), then runs the real cst.
mkdir -p "$WORK/nxp/cst-0.0.2/linux64/bin"
cat > "$WORK/nxp/cst-0.0.2/linux64/bin/cst" <<EOD
#!/bin/sh
echo "\$@" > "$WORK/cst-args.txt"
grep -c 'pin-value=Pin-7391-secret"' csf-input.txt > "$WORK/pin-count.txt"
grep -c 'pin-value=password' csf-input.txt > "$WORK/placeholder-count.txt"
exec "$DIGSIG_CST_BASE/cst-3.4.1/linux64/bin/cst" "\$@"
EOD
chmod +x "$WORK/nxp/cst-0.0.2/linux64/bin/cst"
start_server DIGSIGSERVER_IMX_CST_BASE="$WORK/nxp" DIGSIGSERVER_YUBIHSM_PASSWORD=Pin-7391-secret
cd "$WORK"
PATH="$DIGSIG_CST_BASE/cst-3.4.1/linux64/bin:$PATH"
mkdir -p pki && tar -C pki -xzf "$KEYS/demo/imxsign/imx-cst-keys.tar.gz"
IMG_CRT=pki/crts/IMG1_1_sha256_2048_65537_v3_usr_crt.pem

head -c 16384 /dev/urandom > flash.bin
# write_csf FILE CERT DATA_NAME: an HAB4 CSF signing the first 8 KiB of DATA_NAME.
write_csf() {
  cat > "$1" <<EOD
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
    File = "crts/CSF1_1_sha256_2048_65537_v3_usr_crt.pem"

[Authenticate CSF]

[Install Key]
    Verification index = 0
    Target Index = 2
    File = "$2"

[Authenticate Data]
    Verification index = 2
    Blocks = 0x7e0fc0 0x0 0x2000 "$3"
EOD
}
write_csf csf.txt "crts/IMG1_1_sha256_2048_65537_v3_usr_crt.pem" flash.bin

curl -s --fail -X POST -F machine=demo -F soctype=mx8m -F cstversion=3.4.1 \
     -F csf=@csf.txt -F artifact=@flash.bin --output csf.bin "$DIGSIG_SERVER/sign/imx"
rm -rf parsed && mkdir parsed
(cd parsed && csf_parser -c ../csf.bin > parse.log 2>&1)
check "csf_parser takes the CSF apart: SRK table, 2 certificates, 2 signatures" \
  bash -c "[ -f parsed/output/SRKTable.bin ] && [ -f parsed/output/cert1.der ] && [ -f parsed/output/sig0.bin ] && [ -f parsed/output/sig1.bin ]"
check "the SRK table in the CSF is the key set's" cmp parsed/output/SRKTable.bin pki/crts/SRK_1_2_3_4_table.bin
openssl x509 -in "$IMG_CRT" -out img.pem
head -c 8192 flash.bin > block.bin
# The image signature is the one whose signer is the IMG certificate.
img_sig=
for s in parsed/output/sig*.bin; do
  if openssl cms -verify -inform DER -in "$s" -content block.bin -binary -noverify -certfile img.pem -out /dev/null 2>/dev/null; then
    img_sig=$s
  fi
done
check "the image signature verifies with openssl against the IMG certificate over the signed block" test -n "$img_sig"
cp block.bin tampered.bin && printf 'X' | dd of=tampered.bin bs=1 seek=4000 conv=notrunc 2>/dev/null
check "it does not verify a changed block" \
  bash -c "! openssl cms -verify -inform DER -in '${img_sig:-none}' -content tampered.bin -binary -noverify -certfile img.pem -out /dev/null 2>/dev/null"

# The artifact keeps only its base name: a CSF naming "flash.bin" works when
# the client's file name has a path in it.
curl -s --fail -X POST -F machine=demo -F soctype=mx8mp -F cstversion=3.4.1 -F csf=@csf.txt \
     -F "artifact=@flash.bin;filename=../../etc/flash.bin" --output csf2.bin "$DIGSIG_SERVER/sign/imx"
check "a path in the artifact's file name is reduced to its base name" test -s csf2.bin
check "nothing was written outside the job directory" bash -c "[ ! -e '$SPOOL/../etc/flash.bin' ] && [ ! -e '$WORK/etc/flash.bin' ]"

# --- key files live in the job directory only, and only during the request ------
curl -s --fail -X POST -F machine=demo -F soctype=mx8m -F cstversion=0.0.1 -F csf=@csf.txt \
     -F artifact=@flash.bin --output slow.bin "$DIGSIG_SERVER/sign/imx" &
slow=$!
sleep 1
find "$SPOOL" -mindepth 1 -printf '%P %m %y\n' | sort > during.txt
wait "$slow"
check "during the request the private keys are inside the job directory" \
  bash -c "grep -qE '^job-[^/]+/work/keys/CSF1_1_sha256_2048_65537_v3_usr_key.pem ' during.txt && [ \$(grep -c '' during.txt) -gt 10 ]"
check "  ... which is private (0700)" bash -c "grep -qE '^job-[^/ ]+ 700 d$' during.txt"
check "  ... and the key tarball handed over is not left there" bash -c "! grep -q 'imx-cst-keys.tar.gz' during.txt"
check "after the request nothing is left in the spool" spool_empty
check "the slow request still produced a CSF" test -s slow.bin

# --- backend=pkcs11: CST's PKCS#11 back end, the PIN from the server's setting ------
# No token is configured here (HSM tests are a later piece of work): what is
# checked is the invocation contract and that the PIN leaks nowhere.
sed 's|File = "crts/CSF1_1_sha256_2048_65537_v3_usr_crt.pem"|File = "pkcs11:token=release;object=CSF1;type=cert;pin-value=password"|' csf.txt > csf-pkcs11.txt
post /sign/imx -F machine=demo -F soctype=mx8m -F cstversion=0.0.2 -F backend=pkcs11 -F csf=@csf-pkcs11.txt -F artifact=@flash.bin
check "backend=pkcs11 runs cst with -b pkcs11 (and fails without a token, saying so)" \
  bash -c "[ \"\$(cat '$WORK/cst-args.txt')\" = '-i csf-input.txt -o csf.bin -b pkcs11' ] && [ '$STATUS' = 400 ] && [[ '$BODY' == *'cst could not sign'* ]]"
check "the CSF cst was given has the configured PIN in place of pin-value=password" \
  bash -c "[ \"\$(cat '$WORK/pin-count.txt')\" = 1 ] && [ \"\$(cat '$WORK/placeholder-count.txt')\" = 0 ]"
check "the PIN is in no log line, response or audit record" \
  not_in Pin-7391-secret "$WORK/server.log" "$WORK/body"
check "  ... and nothing of the request is left in the spool" spool_empty
expect_error "an unknown backend" 400 "backend 'hsm' is not one of ssl, pkcs11" /sign/imx -F machine=demo -F soctype=mx8m -F cstversion=3.4.1 -F backend=hsm -F csf=@csf.txt -F artifact=@flash.bin

# --- bad input ------------------------------------------------------------------
write_csf missing.txt "crts/NO_SUCH_crt.pem" flash.bin
expect_error "a CSF naming a certificate that is not there: CST's message" 400 "cst could not sign" /sign/imx -F machine=demo -F soctype=mx8m -F cstversion=3.4.1 -F csf=@missing.txt -F artifact=@flash.bin
check "  ... which names the missing file, without server paths" bash -c "grep -q 'NO_SUCH_crt.pem' '$WORK/body' && ! grep -q '$SPOOL' '$WORK/body'"
expect_error "a CST version that is not installed" 400 "CST version 9.9.9 is not installed on this server; installed: 0.0.1, 0.0.2, 3.4.1" /sign/imx -F machine=demo -F soctype=mx8m -F cstversion=9.9.9 -F csf=@csf.txt -F artifact=@flash.bin
expect_error "cstversion with a path" 400 "cstversion '../../bin' is not a version number" /sign/imx -F machine=demo -F soctype=mx8m -F cstversion=../../bin -F csf=@csf.txt -F artifact=@flash.bin
expect_error "unknown soctype" 400 "soctype 'mx99' is not one of" /sign/imx -F machine=demo -F soctype=mx99 -F cstversion=3.4.1 -F csf=@csf.txt -F artifact=@flash.bin
expect_error "missing csf" 400 "'csf' is missing" /sign/imx -F machine=demo -F soctype=mx8m -F cstversion=3.4.1 -F artifact=@flash.bin
expect_error "unknown machine" 404 "no imxsign keys are configured for 'nope'" /sign/imx -F machine=nope -F soctype=mx8m -F cstversion=3.4.1 -F csf=@csf.txt -F artifact=@flash.bin
check "no key material in the server log" no_secrets_in "$WORK/server.log"

it_finish
