#!/usr/bin/env bash
# /sign/fitimage end to end: a FIT built here with mkimage, signed through
# the server, then checked without mkimage: the image signature with openssl
# over the image data, the DTB's key node against the certificate.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init fitimage
start_server
cd "$WORK"
CRT=$KEYS/demo/fitimagesign/dev.crt
openssl x509 -in "$CRT" -pubkey -noout > dev.pub

head -c 4096 /dev/urandom > kernel.bin
echo '/dts-v1/; / { model = "payload"; };' | dtc -I dts -O dtb -o payload.dtb 2>/dev/null
cat > fit.its <<'EOD'
/dts-v1/;
/ {
  description = "digsigserver test FIT";
  #address-cells = <1>;
  images {
    kernel {
      data = /incbin/("kernel.bin");
      type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
      load = <0x80000>; entry = <0x80000>;
      hash-1 { algo = "sha256"; };
      signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; };
    };
    fdt-1 {
      data = /incbin/("payload.dtb");
      type = "flat_dt"; arch = "arm64"; compression = "none";
      hash-1 { algo = "sha256"; };
    };
  };
  configurations {
    default = "conf-1";
    conf-1 {
      kernel = "kernel"; fdt = "fdt-1";
      signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel", "fdt"; };
    };
  };
};
EOD
mkimage -f fit.its fitImage >/dev/null
echo '/dts-v1/; / { model = "u-boot control"; };' | dtc -I dts -O dtb -o u-boot.dtb 2>/dev/null

# hexbytes FILE NODE PROP > OUT: a property's raw bytes.
# hexof FILE NODE PROP: the bytes as one zero-padded hex string (fdtget does not pad).
hexof() { fdtget -t bx "$1" "$2" "$3" | awk '{for (i = 1; i <= NF; i++) printf "%02s", $i}' | tr ' ' 0; }
hexbytes() { hexof "$@" | xxd -r -p; }

# --- with a DTB: tarball of the image and the DTB with the key --------------
curl -s --fail -X POST -F artifact=@fitImage -F dtb=@u-boot.dtb -F machine=demo -F mark_required=1 \
     --output signed.tar.gz "$DIGSIG_SERVER/sign/fitimage"
mkdir -p out && tar -C out -xzf signed.tar.gz
check "the tarball holds the signed image and the DTB" bash -c "[ -f out/fitImage ] && [ -f out/u-boot.dtb ] && [ \$(tar -tzf signed.tar.gz | wc -l) -eq 3 ]"
hexbytes out/fitImage /images/kernel data > kernel.data
hexbytes out/fitImage /images/kernel/signature-1 value > kernel.sig
check "the image's data in the FIT is the kernel" cmp kernel.data kernel.bin
check "the image signature verifies with openssl over the image data" \
  openssl dgst -sha256 -verify dev.pub -signature kernel.sig kernel.data
check "the image signature does not verify other data" \
  bash -c "! openssl dgst -sha256 -verify dev.pub -signature kernel.sig payload.dtb >/dev/null 2>&1"
check "the configuration is signed too" bash -c "[ \$(fdtget -t bx out/fitImage /configurations/conf-1/signature-1 value | wc -w) -eq 256 ]"
modulus_cert=$(openssl x509 -in "$CRT" -noout -modulus | cut -d= -f2 | tr A-F a-f)
modulus_dtb=$(hexof out/u-boot.dtb /signature/key-dev rsa,modulus)
check "the DTB's /signature/key-dev carries the key's modulus" test "$modulus_cert" = "$modulus_dtb"
check "the DTB's key node has the key's size and exponent" \
  bash -c "[ \$(fdtget out/u-boot.dtb /signature/key-dev rsa,num-bits) = 2048 ] && [ \"\$(fdtget -t bx out/u-boot.dtb /signature/key-dev rsa,exponent)\" = '0 0 0 0 0 1 0 1' ]"
check "mark_required sets 'required' on the key" bash -c "[ -n \"\$(fdtget out/u-boot.dtb /signature/key-dev required)\" ]"

# --- without a DTB: the signed image itself -------------------------------------
curl -s --fail -X POST -F artifact=@fitImage -F machine=demo -F "comment=release 1" \
     --output fitImage.signed "$DIGSIG_SERVER/sign/fitimage"
hexbytes fitImage.signed /images/kernel/signature-1 value > plain.sig
check "without a DTB: the signed image comes back and its signature verifies" \
  openssl dgst -sha256 -verify dev.pub -signature plain.sig kernel.data
check "the comment is recorded in the signature node" \
  bash -c "[ \"\$(fdtget fitImage.signed /images/kernel/signature-1 comment)\" = 'release 1' ]"
curl -s --fail -X POST -F artifact=@fitImage -F dtb=@u-boot.dtb -F machine=demo -o norequired.tar.gz "$DIGSIG_SERVER/sign/fitimage"
mkdir -p noreq && tar -C noreq -xzf norequired.tar.gz
check "without mark_required the key is not required" bash -c "! fdtget noreq/u-boot.dtb /signature/key-dev required >/dev/null 2>&1"

# --- key name from the DTB's key-<name> node ----------------------------------------
mkdir -p "$KEYS/demo/fitimagesign"
openssl genrsa -out "$KEYS/demo/fitimagesign/rel.key" 2048 2>/dev/null
openssl req -new -x509 -key "$KEYS/demo/fitimagesign/rel.key" -days 1 -subj /CN=rel -out "$KEYS/demo/fitimagesign/rel.crt"
echo '/dts-v1/; / { signature { key-rel { key-name-hint = "rel"; }; }; };' | dtc -I dts -O dtb -o rel.dtb 2>/dev/null
sed 's/key-name-hint = "dev"/key-name-hint = "rel"/' fit.its > fit-rel.its
mkimage -f fit-rel.its fitImage-rel >/dev/null
curl -s --fail -X POST -F artifact=@fitImage-rel -F dtb=@rel.dtb -F machine=demo -o rel.tar.gz "$DIGSIG_SERVER/sign/fitimage"
mkdir -p rel && tar -C rel -xzf rel.tar.gz
modulus_rel=$(openssl rsa -in "$KEYS/demo/fitimagesign/rel.key" -noout -modulus | cut -d= -f2 | tr A-F a-f)
check "the key name comes from the DTB's key-rel node" \
  test "$modulus_rel" = "$(hexof rel/rel.dtb /signature/key-rel rsa,modulus)"

# --- bad input ------------------------------------------------------------------------
# mkimage exits 0 when it cannot sign a node; the server must not.
expect_error "a FIT naming a key the DTB does not (mkimage fails but exits 0)" 400 "Failed to sign" /sign/fitimage -F artifact=@fitImage -F dtb=@rel.dtb -F machine=demo
check "the tool's message reaches the client without server paths" bash -c "! grep -q '$SPOOL' '$WORK/body' && grep -q \"'./keys/dev.key'\" '$WORK/body'"
expect_error "a key name that is not in the store" 404 "key 'other.key' (fitimagesign) of 'demo' does not exist" /sign/fitimage -F artifact=@fitImage -F machine=demo -F keyname=other
expect_error "a key name with a path" 400 "keyname" /sign/fitimage -F artifact=@fitImage -F machine=demo -F keyname=../../x
expect_error "external_data_offset that is not a number" 400 "external_data_offset 'abc' is not a number" /sign/fitimage -F artifact=@fitImage -F machine=demo -F external_data_offset=abc
expect_error "an algo mkimage does not know" 400 "algo 'md5,rsa1024' is not one mkimage supports" /sign/fitimage -F artifact=@fitImage -F machine=demo -F algo=md5,rsa1024
head -c 3000 /dev/urandom > notfit.bin
expect_error "an artifact that is not a FIT" 400 "not a FIT image" /sign/fitimage -F artifact=@notfit.bin -F machine=demo
expect_error "missing artifact" 400 "'artifact' is missing" /sign/fitimage -F machine=demo
check "no key material in the server log" no_secrets_in "$WORK/server.log"

it_finish
