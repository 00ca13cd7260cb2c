#!/usr/bin/env bash
# /sign/rk, /sign/rkoptee-tee and /sign/rkoptee-ta. The fit-image path runs
# the real mkimage (u-boot-tools) and is verified with openssl and fdtget;
# Rockchip's own tools (rk_sign_tool, change_puk, resign_ta.py) cannot be
# installed here, so the other paths run against the SIMULATED tools of
# tests/fixtures/rockchip, which check their invocation and log it; this
# test checks those logs against API.md, the signatures they made with the
# configured keys, the tools directory (unchanged) and the failure cases.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
source "$DIGSIG_SOURCE_DIR/tests/support/sim_lib.sh"
it_init rockchip
export LC_ALL=C
FIX=$DIGSIG_SOURCE_DIR/tests/fixtures
RK=$WORK/rktools
SIMLOG=$WORK/simlog
for m in evb; do cp -a "$KEYS/demo" "$KEYS/$m"; done
"$FIX/rockchip/make-tree.sh" "$RK" "$SIMLOG" "$KEYS/evb"
tree_state() { (cd "$RK" && find . -printf '%p %m %s %T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
TREE_BEFORE=$(tree_state)
TOOLPATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
start_server DIGSIGSERVER_RK_TOOLS_PATH="$RK" PATH="$TOOLPATH"
cd "$WORK"
PUB=$KEYS/evb/rksign/dev.pubkey
hexof() { fdtget -t bx "$1" "$2" "$3" | awk '{for (i = 1; i <= NF; i++) printf "%02s", $i}' | tr ' ' 0; }
export -f hexof


# --- fit-image with fit.its and uboot.dtb (real mkimage) ------------------------
rm -rf fitin && mkdir fitin
head -c 4096 /dev/urandom > fitin/kernel.bin
cat > fitin/fit.its <<'EOD'
/dts-v1/;
/ {
  description = "digsigserver Rockchip test FIT";
  #address-cells = <1>;
  images {
    kernel {
      data = /incbin/("kernel.bin");
      type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
      load = <0x280000>; entry = <0x280000>;
      hash { algo = "sha256"; };
      signature { algo = "sha256,rsa2048"; key-name-hint = "dev"; };
    };
  };
  configurations {
    default = "conf";
    conf {
      kernel = "kernel";
      signature { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel"; };
    };
  };
};
EOD
echo '/dts-v1/; / { model = "rk3588 u-boot"; };' | dtc -I dts -O dtb -o fitin/uboot.dtb 2>/dev/null
echo 'not to be returned' > fitin/extra.txt
(cd fitin && tar -c -h -z -f ../fitin.tar.gz *)
check "fit-image: signing succeeds" \
  curl --silent --fail -X POST -F machine=evb -F soctype=rk3588 -F artifact_type=fit-image \
    -F external_data_offset=0x1000 -F artifact=@fitin.tar.gz --output fitout.tar.gz "$DIGSIG_SERVER/sign/rk"
check "fit-image: the tarball holds fitImage and uboot.dtb and nothing else" \
  bash -c "[ \"\$(members fitout.tar.gz)\" = './ ./fitImage ./uboot.dtb ' ]"
mkdir -p fitx && tar -C fitx -xzf fitout.tar.gz
hexof fitx/fitImage /images/kernel/signature value | xxd -r -p > kernel.sig
check "fit-image: the kernel's signature verifies over the kernel with dev.pubkey" \
  openssl dgst -sha256 -verify "$PUB" -signature kernel.sig fitin/kernel.bin
check "fit-image: built with external data at the requested position (-E -p 0x1000)" \
  bash -c "[ \"\$(fdtget fitx/fitImage /images/kernel data-position)\" = 4096 ]"
check "fit-image: uboot.dtb carries dev's public key, marked required (-r)" \
  bash -c "[ \"\$(hexof fitx/uboot.dtb /signature/key-dev rsa,modulus)\" = \"\$(openssl rsa -pubin -in '$PUB' -modulus -noout | cut -d= -f2 | tr A-F a-f)\" ] && [ -n \"\$(fdtget fitx/uboot.dtb /signature/key-dev required)\" ]"

# An already built fitImage without fit.its and uboot.dtb: mkimage -F.
(cd fitin && mkimage -f fit.its fitImage >/dev/null && tar -c -h -z -f ../fitonly.tar.gz fitImage)
check "fit-image with only fitImage: signing succeeds and returns only fitImage" \
  bash -c "curl -sf -X POST -F machine=evb -F soctype=rk3568 -F artifact_type=fit-image -F artifact=@fitonly.tar.gz -o fitonly-out.tar.gz '$DIGSIG_SERVER/sign/rk' && [ \"\$(members fitonly-out.tar.gz)\" = './ ./fitImage ' ]"
tar -xzOf fitonly-out.tar.gz ./fitImage > fitonly.signed
hexof fitonly.signed /images/kernel/signature value | xxd -r -p > kernel2.sig
check "fit-image -F: the signature verifies" openssl dgst -sha256 -verify "$PUB" -signature kernel2.sig fitin/kernel.bin
sed 's/key-name-hint = "dev"/key-name-hint = "other"/' fitin/fit.its > fitin/fit.its.other && mv fitin/fit.its.other fitin/fit.its
(cd fitin && tar -c -h -z -f ../fitother.tar.gz fit.its kernel.bin)
expect_error "fit-image naming a key that does not exist: 400 with mkimage's message" 400 "mkimage could not sign the image" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=fit-image -F artifact=@fitother.tar.gz
# An .its may only include files of the upload: not the job's key, not server files.
for bad in '../keys/dev.key' '/etc/passwd' 'kernel.bin" /incbin/("../keys/dev.key'; do
  sed -e "s|/incbin/(\"kernel.bin\")|/incbin/(\"$bad\")|" -e 's/"other"/"dev"/g' fitin/fit.its > fitin/evil.its
  mkdir -p evil && cp fitin/kernel.bin fitin/uboot.dtb evil/ && cp fitin/evil.its evil/fit.its
  (cd evil && tar -czf ../evil.tar.gz *)
  expect_error "fit.its including $bad" 400 "is not a file of the uploaded tarball" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=fit-image -F artifact=@evil.tar.gz
done
sed -e 's|/incbin/("kernel.bin")|/incbin/ ("kernel.bin")|' -e 's/"other"/"dev"/g' fitin/fit.its > evil/fit.its && (cd evil && tar -czf ../ok-space.tar.gz *)
check "fit.its with /incbin/ (\"name\") of an uploaded file is accepted" \
  curl -sf -X POST -F machine=evb -F soctype=rk3588 -F artifact_type=fit-image -F artifact=@ok-space.tar.gz -o /dev/null "$DIGSIG_SERVER/sign/rk"
(cd fitin && tar -czf ../fitnone.tar.gz extra.txt)
expect_error "fit-image tarball without fitImage or fit.its" 400 "neither fitImage nor fit.its" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=fit-image -F artifact=@fitnone.tar.gz

# --- idblock and usbloader (simulated rk_sign_tool) --------------------------------
head -c 8192 /dev/urandom > idblock.img
sim_reset
check "idblock with burn_key_hash=yes: succeeds" \
  curl --silent --fail -X POST -F machine=evb -F soctype=rk3588 -F artifact_type=idblock -F burn_key_hash=yes \
    -F artifact=@idblock.img --output idblock.signed "$DIGSIG_SERVER/sign/rk"
check "idblock: cc, lk, ss, sb in order with the job's key files" \
  bash -c "[ \"\$(grep '^rk_sign_tool ' '$SIMLOG/calls.log')\" = \"\$(printf '%s\n' 'rk_sign_tool cc --chip 3588' 'rk_sign_tool lk --key \$JOB/keys/dev.key --pubkey \$JOB/keys/dev.pubkey' 'rk_sign_tool ss --flag 0x20' 'rk_sign_tool sb --idb \$JOB/work/artifact.bin')\" ]"
check "idblock: the tools ran in the job's work directory with the job's tools first on PATH" \
  bash -c "grep -qx 'cwd rk_sign_tool \$JOB/work' '$SIMLOG/calls.log' && grep -qx 'env rk_sign_tool PATH=\$JOB/tools:$RK:$TOOLPATH' '$SIMLOG/calls.log'"
size=$(stat -c %s idblock.img)
check "idblock: the result is the image, the tool's trailer and a signature by dev.key" \
  bash -c "cmp -s <(head -c $size idblock.signed) idblock.img && head -c -256 idblock.signed | tail -c +$((size + 1)) | grep -qx 'RKSIM chip=3588 flag=0x20' && tail -c 256 idblock.signed > id.sig && head -c -256 idblock.signed > id.body && openssl dgst -sha256 -verify '$PUB' -signature id.sig id.body"
sim_reset
check "usbloader without burn_key_hash: succeeds" \
  curl --silent --fail -X POST -F machine=evb -F soctype=rk3566 -F artifact_type=USBloader \
    -F artifact=@idblock.img --output loader.signed "$DIGSIG_SERVER/sign/rk"
check "usbloader: no ss step, sl --loader" \
  bash -c "[ \"\$(grep '^rk_sign_tool ' '$SIMLOG/calls.log' | cut -d' ' -f2 | tr '\n' ' ')\" = 'cc lk sl ' ] && grep -qx 'rk_sign_tool sl --loader \$JOB/work/artifact.bin' '$SIMLOG/calls.log' && grep -qx 'rk_sign_tool cc --chip 3566' '$SIMLOG/calls.log'"
for v in no false 0 No TRUE 1; do
  sim_reset
  curl -sf -X POST -F machine=evb -F soctype=rk3588 -F artifact_type=idblock -F burn_key_hash=$v -F artifact=@idblock.img -o /dev/null "$DIGSIG_SERVER/sign/rk"
  if grep -q '^rk_sign_tool ss ' "$SIMLOG/calls.log"; then got=yes; else got=no; fi
  case $v in TRUE|1) want=yes ;; *) want=no ;; esac
  check "burn_key_hash=$v: ss step $want" [ "$got" = "$want" ]
done
sim_reset
sim_mode rk_sign_tool-lk fail
expect_error "rk_sign_tool lk fails: 500 with its message" 500 "ERR: simulated failure of rk_sign_tool-lk" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=idblock -F artifact=@idblock.img
sim_mode rk_sign_tool-sb nothing
expect_error "rk_sign_tool sb exits 0 but signs nothing: 500" 500 "left the image unchanged" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=idblock -F artifact=@idblock.img
sim_mode rk_sign_tool-sb error-line
expect_error "rk_sign_tool prints an error and exits 0: 500" 500 "simulated rk_sign_tool failure" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=idblock -F artifact=@idblock.img
sim_reset
expect_error "burn_key_hash=maybe" 400 "burn_key_hash 'maybe' is not one of yes, no, true, false, 1, 0" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=idblock -F burn_key_hash=maybe -F artifact=@idblock.img
expect_error "missing artifact_type: 400, not a crash" 400 "artifact_type missing" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact=@idblock.img
expect_error "unknown artifact_type" 400 "Invalid artifact type 'kernel'" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=kernel -F artifact=@idblock.img
expect_error "unknown soctype" 400 "soctype 'rk3399' is not one of rk3588, rk3566, rk3568" /sign/rk -F machine=evb -F soctype=rk3399 -F artifact_type=idblock -F artifact=@idblock.img
expect_error "bad external_data_offset" 400 "external_data_offset" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=fit-image -F external_data_offset=12abc -F artifact=@fitin.tar.gz
expect_error "unknown machine" 404 "'nope'" /sign/rk -F machine=nope -F soctype=rk3588 -F artifact_type=idblock -F artifact=@idblock.img
# rk_sign_tool reads key files: a token reference is refused before it runs
# (mkimage's fit-image path can use one: tests/integration/pkcs11_test.sh).
cp -a "$KEYS/evb" "$KEYS/hsm"
echo 'pkcs11:token=release;object=rk;type=private' > "$KEYS/hsm/rksign/dev.key"
sim_reset
expect_error "idblock with dev.key as a pkcs11: reference: 500 saying rk_sign_tool needs a key file" 500 \
  "key 'dev.key' (rksign) of 'hsm' is a pkcs11: reference, but the rk signer hands this key to its tools as a file" \
  /sign/rk -F machine=hsm -F soctype=rk3588 -F artifact_type=idblock -F artifact=@idblock.img
check "  ... and no tool ran" not_in rk_sign_tool "$SIMLOG/calls.log"

# --- rkoptee-tee (simulated change_puk) ---------------------------------------------------
sim_reset
head -c 6000 /dev/urandom > tee.bin
check "rkoptee-tee: succeeds" \
  curl --silent --fail -X POST -F machine=evb -F artifact=@tee.bin --output tee.bin.signed "$DIGSIG_SERVER/sign/rkoptee-tee"
check "rkoptee-tee: change_puk --teebin tee.bin --key <the job's public key file>" \
  logged 'change_puk --teebin $JOB/work/tee.bin --key $JOB/keys/optee-signing-pubkey.pem'
OPTEE_FP=$(openssl pkey -pubin -in "$KEYS/evb/rkopteesign/optee-signing-pubkey.pem" -outform DER | sha256sum | cut -d' ' -f1)
check "rkoptee-tee: the result carries the configured public key" \
  bash -c "cmp -s <(head -c 6000 tee.bin.signed) tee.bin && [ \"\$(tail -c +6001 tee.bin.signed)\" = 'RKSIM-PUK $OPTEE_FP' ]"
sim_mode change_puk error-line
expect_error "rkoptee-tee: change_puk prints a failure and exits 0: 500" 500 "change public key fail" /sign/rkoptee-tee -F machine=evb -F artifact=@tee.bin
sim_reset

# --- rkoptee-ta (simulated resign_ta.py) ---------------------------------------------------
rm -rf tain && mkdir -p tain/lib/optee_armtz
head -c 3000 /dev/urandom > tain/lib/optee_armtz/8aaaf200-2450-11e4-abe2-0002a5d5c51b.ta
head -c 2000 /dev/urandom > tain/second.ta
echo readme > tain/README
(cd tain && tar -c -h -z -f ../tain.tar.gz *)
check "rkoptee-ta: succeeds" \
  curl --silent --fail -X POST -F machine=evb -F artifact=@tain.tar.gz --output taout.tar.gz "$DIGSIG_SERVER/sign/rkoptee-ta"
check "rkoptee-ta: resign_ta.py ran once per .ta with the job's key file" \
  bash -c "[ \"\$(grep '^resign_ta.py ' '$SIMLOG/calls.log')\" = \"\$(printf '%s\n' 'resign_ta.py --key \$JOB/keys/optee-signing-key.pem --in \$JOB/work/lib/optee_armtz/8aaaf200-2450-11e4-abe2-0002a5d5c51b.ta' 'resign_ta.py --key \$JOB/keys/optee-signing-key.pem --in \$JOB/work/second.ta')\" ]"
check "rkoptee-ta: the tarball keeps its members" \
  bash -c "[ \"\$(members taout.tar.gz)\" = './ ./README ./lib/ ./lib/optee_armtz/ ./lib/optee_armtz/8aaaf200-2450-11e4-abe2-0002a5d5c51b.ta ./second.ta ' ]"
mkdir -p tax && tar -C tax -xzf taout.tar.gz
check "rkoptee-ta: each TA is followed by a signature by the configured key" \
  bash -c "for t in lib/optee_armtz/8aaaf200-2450-11e4-abe2-0002a5d5c51b.ta second.ta; do n=\$(stat -c %s tain/\$t); cmp -s <(head -c \$n tax/\$t) tain/\$t && tail -c 256 tax/\$t > ta.sig && openssl dgst -sha256 -verify '$KEYS/evb/rkopteesign/optee-signing-pubkey.pem' -signature ta.sig tain/\$t >/dev/null || exit 1; done"
(cd tain && tar -czf ../noTA.tar.gz README)
expect_error "rkoptee-ta: a tarball without .ta files" 400 "holds no *.ta file" /sign/rkoptee-ta -F machine=evb -F artifact=@noTA.tar.gz
sim_mode resign_ta.py fail
expect_error "rkoptee-ta: resign_ta.py fails: 500 with its message" 500 "simulated failure of resign_ta.py" /sign/rkoptee-ta -F machine=evb -F artifact=@tain.tar.gz
sim_reset

TREE_AFTER=$(tree_state)
check "the Rockchip tools directory is unchanged (setting.ini was rewritten in the job's copy only)" [ "$TREE_AFTER" = "$TREE_BEFORE" ]

# --- Without DIGSIGSERVER_RK_TOOLS_PATH -----------------------------------------------------
start_server PATH="$TOOLPATH"
expect_error "idblock without RK_TOOLS_PATH: 500 naming the setting" 500 "DIGSIGSERVER_RK_TOOLS_PATH is not set" /sign/rk -F machine=evb -F soctype=rk3588 -F artifact_type=idblock -F artifact=@idblock.img
check "fit-image does not need the Rockchip tools" \
  curl --silent --fail -X POST -F machine=evb -F soctype=rk3588 -F artifact_type=fit-image -F artifact=@fitonly.tar.gz -o /dev/null "$DIGSIG_SERVER/sign/rk"
expect_error "rkoptee-tee without RK_TOOLS_PATH" 500 "DIGSIGSERVER_RK_TOOLS_PATH is not set" /sign/rkoptee-tee -F machine=evb -F artifact=@tee.bin
check "/signers reports rkoptee-ta not ready and why" \
  bash -c "curl -sf '$DIGSIG_SERVER/signers' | jq -e '.signers[] | select(.name == \"rkoptee-ta\") | .ready == false and (.missing | join(\" \") | contains(\"RK_TOOLS_PATH\"))' >/dev/null"

check "nothing is left in the spool" spool_empty
check "no key material in the server log" no_secrets_in "$WORK/server.log"
it_finish
