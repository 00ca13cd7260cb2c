#!/usr/bin/env bash
# /sign/tegra, /sign/tegra/ueficapsule and /sign/tegra/ekb against SIMULATED
# L4T BSP trees (tests/fixtures/l4t: NVIDIA's BSP cannot be installed here).
# The simulated tools check how they are called and log it; this test checks
# those logs against the contract of API.md, the responses, signatures made
# with the configured key, the BSP tree (unchanged), the spool (empty) and
# the failure cases (no false success).
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
source "$DIGSIG_SOURCE_DIR/tests/support/sim_lib.sh"
it_init tegra
export LC_ALL=C
for m in jetson xavier orin nano; do cp -a "$KEYS/demo" "$KEYS/$m"; done
FIX=$DIGSIG_SOURCE_DIR/tests/fixtures
L4T=$WORK/l4t
SIMLOG=$WORK/simlog
PUB=$PKI/demo-tegra-pkc-public.pem
"$FIX/l4t/make-tree.sh" "$L4T" "$SIMLOG" "$PUB"
TOOLPATH="$FIX/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
bsp_state() { (cd "$L4T" && find . -printf '%p %m %s %T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
BSP_BEFORE=$(bsp_state)
start_server DIGSIGSERVER_L4T_TOOLS_BASE="$L4T" PATH="$TOOLPATH" SIM_SERVER_ONLY=leak
cd "$WORK"

# verify_appended FILE.signed ORIGINAL: FILE.signed is ORIGINAL followed by an
# RSA-3072 signature over it by the PKC key.
verify_appended() {
  local size
  size=$(stat -c %s "$2")
  cmp -s <(head -c "$size" "$1") "$2" && tail -c 384 "$1" > "$1.sigpart" &&
    openssl dgst -sha256 -verify "$PUB" -signature "$1.sigpart" "$2" >/dev/null
}

# make_input DIR MANIFEST-LINES...: a tegrasign-in.tar.gz as tegrasign.bbclass makes it.
make_input() {
  local dir=$1
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  printf '%s\n' "$@" > "$dir/MANIFEST"
  echo '<partition_layout/>' > "$dir/flash.xml.in"
  head -c 3000 /dev/urandom > "$dir/boot.img"
  head -c 2000 /dev/urandom > "$dir/board.dtb"
  head -c 1000 /dev/urandom > "$dir/nvtboot_cpu.bin"
  (cd "$dir" && tar -c -h -z -f ../"$dir".tar.gz *)
}
sign_tegra() {  # SOC VERSION INPUT OUTPUT [MACHINE]
  curl --silent --fail -X POST -F "machine=${5:-jetson}" -F "soctype=$1" -F "bspversion=$2" \
    -F "artifact=@$3" --output "$4" "$DIGSIG_SERVER/sign/tegra"
}

# --- Plain signing, tegra186, BSP 32.7.4 --------------------------------------
sim_reset
make_input in186 DTBFILE=board.dtb ODMDATA=0x1090000 LNXFILE=boot.img BOARDID=3310 FAB=B02 \
  fuselevel=fuselevel_production MACHINE=ignored
check "tegra186 32.7.4: signing succeeds" sign_tegra tegra186 32.7.4 in186.tar.gz out186.tar.gz
check "tegra186: exact helper command line (with SBK and user key)" \
  logged 'tegra186-flash-helper --no-flash -u $JOB/keys/rsa_priv.pem -v $JOB/keys/sbk.txt --user_key $JOB/keys/user_key.txt flash.xml.in board.dtb jetson.cfg 0x1090000 boot.img'
check "tegra186: environment is the MANIFEST, MACHINE (the request's) and PATH only" \
  bash -c "[ \"\$(grep '^env tegra186-flash-helper ' '$SIMLOG/calls.log' | cut -d' ' -f3- | cut -d= -f1 | tr '\n' ' ')\" = 'BOARDID DTBFILE FAB LNXFILE MACHINE ODMDATA PATH fuselevel ' ] && grep -qx 'env tegra186-flash-helper MACHINE=jetson' '$SIMLOG/calls.log'"
check "tegra186: PATH is the job's tools, the BSP, then the server's PATH" \
  logged "env tegra186-flash-helper PATH=\$JOB/tools:\$JOB/tools/bootloader:$L4T/L4T-32.7.4-tegra186/Linux_for_Tegra:$L4T/L4T-32.7.4-tegra186/Linux_for_Tegra/bootloader:$TOOLPATH"
check "tegra186: runs in the job's work directory" logged 'cwd tegra186-flash-helper $JOB/work'
check "tegra186 32.7.4: the tools copied are those of the version (v3 scripts, Python 2 wrappers, no 35+ files)" \
  bash -c "[ \"\$(grep '^tools tegra186-flash-helper ' '$SIMLOG/calls.log' | cut -d' ' -f3 | tr '\n' ' ')\" = 'bootloader/BUP_generator.py bootloader/BUP_generator.py.real bootloader/l4t_bup_gen.func bootloader/odmsign.func bootloader/rollback/rollback_parser.py bootloader/rollback/rollback_parser.py.real bootloader/tegra186-flash-helper bootloader/tegraflash.py bootloader/tegraflash_internal.py bootloader/tegrasign_v3.py bootloader/tegrasign_v3_internal.py bootloader/tegrasign_v3_util.py l4t_sign_image.sh tegra-signimage-helper ' ]"
check "tegra186: rollback_parser.py (Python 2) ran through the python2 wrapper" logged 'rollback_parser.py jetson'
check "tegra186: the response holds what the helper produced, without inputs, tools and scratch files" \
  bash -c "[ \"\$(members out186.tar.gz)\" = './ ./board.dtb.signed ./board_sigheader.dtb.encrypt.signed ./boot.img.signed ./boot_sigheader.img.encrypt.signed ./flashcmd.txt ./nvtboot_cpu.bin.signed ./nvtboot_cpu_sigheader.bin.encrypt.signed ./rollback.bin ' ]"
mkdir -p x186 && tar -C x186 -xzf out186.tar.gz
check "tegra186: boot.img.signed carries a signature by the configured PKC key" verify_appended x186/boot.img.signed in186/boot.img
check "tegra186: board.dtb.signed too" verify_appended x186/board.dtb.signed in186/board.dtb

# --- tegra194 with the tegra186 BSP directory ---------------------------------
sim_reset
make_input in194 DTBFILE=board.dtb ODMDATA=0x9190000 LNXFILE=boot.img
check "tegra194 32.7.4: signing succeeds" sign_tegra tegra194 32.7.4 in194.tar.gz out194.tar.gz xavier
check "tegra194: the BCT config is <machine>.cfg,<machine>-override.cfg" \
  logged 'tegra194-flash-helper --no-flash -u $JOB/keys/rsa_priv.pem -v $JOB/keys/sbk.txt --user_key $JOB/keys/user_key.txt flash.xml.in board.dtb xavier.cfg,xavier-override.cfg 0x9190000 boot.img'
check "tegra194 BSP 32: the kernel's encrypted copy is kept" \
  bash -c "tar -tzf out194.tar.gz | grep -qx './boot_sigheader.img.encrypt.signed'"

# --- tegra234, BSP 35.5.0: EMMC_BCTS, no encrypted kernel, 35+ tools ------------
sim_reset
make_input in234 DTBFILE=board.dtb ODMDATA=gbe-uphy-config-8 LNXFILE=boot.img EMMC_BCTS=a.dts,b.dts
check "tegra234 35.5.0: signing succeeds" sign_tegra tegra234 35.5.0 in234.tar.gz out234.tar.gz orin
check "tegra234: EMMC_BCTS is the BCT argument" \
  logged 'tegra234-flash-helper --no-flash -u $JOB/keys/rsa_priv.pem -v $JOB/keys/sbk.txt --user_key $JOB/keys/user_key.txt flash.xml.in board.dtb a.dts,b.dts gbe-uphy-config-8 boot.img'
check "tegra234 35.5.0: 35+ tools copied (pyfdt without __pycache__), Python 3 scripts not wrapped" \
  bash -c "t=\$(grep '^tools tegra234-flash-helper ' '$SIMLOG/calls.log' | cut -d' ' -f3 | tr '\n' ' '); [[ \$t == *'bootloader/dtbcheck.py '* && \$t == *'bootloader/pyfdt/pyfdt.py '* && \$t == *'bootloader/tegrasign_v3_oemkey.yaml '* && \$t == *'bootloader/tegraopenssl '* && \$t != *__pycache__* && \$t != *.real* && \$t != *not-needed* ]]"
check "tegra234 BSP 35: the kernel's encrypted copy is dropped" \
  bash -c "[ \"\$(members out234.tar.gz)\" = './ ./board.dtb.signed ./board_sigheader.dtb.encrypt.signed ./boot.img.signed ./flashcmd.txt ./nvtboot_cpu.bin.signed ./nvtboot_cpu_sigheader.bin.encrypt.signed ./rollback.bin ' ]"

# --- tegra210: ./tegra210-flash-helper, boardcfg, no SBK, flash.xml kept ------
sim_reset
make_input in210 DTBFILE=board.dtb ODMDATA=0xa4000 LNXFILE=boot.img boardcfg=board.cfg
check "tegra210 32.7.4: signing succeeds" sign_tegra tegra210 32.7.4 in210.tar.gz out210.tar.gz nano
# (A script cannot see its argv[0]; the simulated helper checks that it was
# started from the working directory, which only ./tegra210-flash-helper does.)
check "tegra210: ./tegra210-flash-helper with boardcfg and without SBK or user key" \
  logged 'tegra210-flash-helper --no-flash -u $JOB/keys/rsa_priv.pem flash.xml.in board.dtb nano.cfg 0xa4000 board.cfg boot.img'
check "tegra210: flash.xml and rcm_1_signed.rcm are returned, no rollback tools" \
  bash -c "[ \"\$(members out210.tar.gz)\" = './ ./board.dtb.signed ./board_sigheader.dtb.encrypt.signed ./boot.img.signed ./boot_sigheader.img.encrypt.signed ./flash.xml ./flashcmd.txt ./nvtboot_cpu.bin.signed ./nvtboot_cpu_sigheader.bin.encrypt.signed ./rcm_1_signed.rcm ' ]"

# --- BUPGENSPECS: one helper run per spec, payloads only ------------------------
sim_reset
make_input inbup DTBFILE=board.dtb ODMDATA=0x1090000 LNXFILE=boot.img \
  "BUPGENSPECS=boardid=3310;fab=B02;boardsku=1000 boardid=3489;fab=300;boardsku=0888"
check "BUPGENSPECS on 32.7.4: succeeds" sign_tegra tegra186 32.7.4 inbup.tar.gz outbup.tar.gz
check "BUPGENSPECS: the helper ran twice with --bup" \
  bash -c "[ \$(grep -cxF 'tegra186-flash-helper --bup -u \$JOB/keys/rsa_priv.pem -v \$JOB/keys/sbk.txt --user_key \$JOB/keys/user_key.txt flash.xml.in board.dtb jetson.cfg 0x1090000 boot.img' '$SIMLOG/calls.log') -eq 2 ]"
check "BUPGENSPECS: each run got its spec's settings, upper-cased" \
  bash -c "grep -qx 'env tegra186-flash-helper BOARDSKU=1000' '$SIMLOG/calls.log' && grep -qx 'env tegra186-flash-helper BOARDSKU=0888' '$SIMLOG/calls.log'"
check "BUPGENSPECS: only payloads* is returned" \
  bash -c "[ \"\$(members outbup.tar.gz)\" = './ ./payloads_t18x/ ./payloads_t18x/bl_update_payload ' ]"
check "BUPGENSPECS: the payload has both specs' entries (the Python 2 BUP_generator.py ran via python2)" \
  bash -c "tar -xzOf outbup.tar.gz ./payloads_t18x/bl_update_payload > bup.txt && grep -q 'BOARDID=3310 FAB=B02 BOARDSKU=1000 MACHINE=jetson' bup.txt && grep -q 'BOARDID=3489 FAB=300 BOARDSKU=0888' bup.txt && [ \$(wc -l < bup.txt) -eq 2 ]"
sim_reset
make_input inbup35 DTBFILE=board.dtb ODMDATA=x LNXFILE=boot.img "BUPGENSPECS=boardid=3701;fab=300"
check "BUPGENSPECS on 35.5.0 (Python 3 BUP_generator.py, not wrapped): succeeds" sign_tegra tegra234 35.5.0 inbup35.tar.gz outbup35.tar.gz
check "BUPGENSPECS on 35.5.0: payloads_t23x returned" \
  bash -c "[ \"\$(members outbup35.tar.gz)\" = './ ./payloads_t23x/ ./payloads_t23x/bl_update_payload ' ]"

# --- SIGNFILES ---------------------------------------------------------------
sim_reset
rm -rf insf && mkdir insf && echo SIGNFILES=1 > insf/MANIFEST
head -c 4000 /dev/urandom > insf/uefi_jetson.bin
head -c 500 /dev/urandom > insf/kernel.dtb
(cd insf && tar -c -h -z -f ../insf.tar.gz *)
check "SIGNFILES 36.4.3: succeeds" sign_tegra tegra234 36.4.3 insf.tar.gz outsf.tar.gz orin
check "SIGNFILES: tegra-signimage-helper --chip 0x23 -u KEY with every file sent (without MANIFEST)" \
  logged 'tegra-signimage-helper --chip 0x23 -u $JOB/keys/rsa_priv.pem kernel.dtb uefi_jetson.bin'
check "SIGNFILES: only the .sig files are returned" \
  bash -c "[ \"\$(members outsf.tar.gz)\" = './ ./kernel.dtb.sig ./uefi_jetson.bin.sig ' ]"
mkdir -p xsf && tar -C xsf -xzf outsf.tar.gz
check "SIGNFILES: each .sig verifies with the configured PKC key" \
  bash -c "openssl dgst -sha256 -verify '$PUB' -signature xsf/kernel.dtb.sig insf/kernel.dtb && openssl dgst -sha256 -verify '$PUB' -signature xsf/uefi_jetson.bin.sig insf/uefi_jetson.bin"
sim_reset
check "SIGNFILES on tegra194: --chip 0x19" \
  bash -c "curl -sf -X POST -F machine=jetson -F soctype=tegra194 -F bspversion=32.7.4 -F artifact=@insf.tar.gz -o /dev/null '$DIGSIG_SERVER/sign/tegra' && grep -q '^tegra-signimage-helper --chip 0x19 ' '$SIMLOG/calls.log'"

# --- No false success -------------------------------------------------------
sim_reset; sim_mode flash-helper fail
expect_error "helper exits 1: 500 with its last lines" 500 "ERR: simulated failure of flash-helper" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@in186.tar.gz
sim_mode flash-helper error-line
expect_error "helper exits 0 but prints an error line: 500" 500 "exited 0 but reported errors" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@in186.tar.gz
check "the error line is in the response" bash -c "grep -q 'Error: Return value 1' '$WORK/body'"
sim_mode flash-helper nothing
expect_error "helper exits 0 and produces nothing: 500" 500 "produced no signed images" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@in186.tar.gz
expect_error "BUP run that produces no payloads: 500" 500 "produced no payloads" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@inbup.tar.gz
sim_mode tegra-signimage-helper nothing
expect_error "SIGNFILES run without .sig files: 500" 500 "wrote no signature for: kernel.dtb, uefi_jetson.bin" /sign/tegra -F machine=jetson -F soctype=tegra234 -F bspversion=36.4.3 -F artifact=@insf.tar.gz
sim_reset

# --- Bad input ----------------------------------------------------------------
make_input badm DTBFILE=board.dtb "this is not a setting" LNXFILE=boot.img
expect_error "a MANIFEST line that is not NAME=value" 400 "Invalid manifest: line 2 is not NAME=value" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@badm.tar.gz
make_input preload DTBFILE=board.dtb ODMDATA=1 LNXFILE=boot.img LD_PRELOAD=./evil.so
expect_error "LD_PRELOAD in the MANIFEST" 400 "'LD_PRELOAD' may not be set by a client" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@preload.tar.gz
make_input keyfile DTBFILE=board.dtb ODMDATA=1 "LNXFILE=$KEYS/jetson/tegrasign/rsa_priv.pem"
expect_error "LNXFILE naming a server file (the signing key)" 400 "LNXFILE" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@keyfile.tar.gz
check "  ... and no key material is in the response" no_secrets_in "$WORK/body"
make_input updtb DTBFILE=../board.dtb ODMDATA=1 LNXFILE=boot.img
expect_error "DTBFILE with a path" 400 "the value of DTBFILE is a path outside the working directory" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@updtb.tar.gz
make_input subdtb DTBFILE=dtbs/board.dtb ODMDATA=1 LNXFILE=boot.img
expect_error "DTBFILE naming no file of the upload" 400 "DTBFILE 'dtbs/board.dtb' is not a file of the uploaded tarball" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@subdtb.tar.gz
make_input bcts DTBFILE=board.dtb ODMDATA=1 LNXFILE=boot.img EMMC_BCTS=a.cfg,/etc/x.cfg
expect_error "EMMC_BCTS with a path" 400 "EMMC_BCTS" /sign/tegra -F machine=jetson -F soctype=tegra234 -F bspversion=35.5.0 -F artifact=@bcts.tar.gz
make_input nodtb ODMDATA=1 LNXFILE=boot.img
expect_error "MANIFEST without DTBFILE" 400 "DTBFILE is missing" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@nodtb.tar.gz
rm -rf nomani && mkdir nomani && echo x > nomani/boot.img && (cd nomani && tar -czf ../nomani.tar.gz *)
expect_error "tarball without MANIFEST" 400 "has no MANIFEST" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@nomani.tar.gz
mkdir -p "$KEYS/nokey/tegrasign"
expect_error "missing rsa_priv.pem" 404 "rsa_priv.pem" /sign/tegra -F machine=nokey -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@in186.tar.gz
# The L4T tools read key files: a key store entry that is a token reference
# is refused before any tool runs, instead of the tool failing on the URI.
cp -a "$KEYS/jetson" "$KEYS/hsm"
echo 'pkcs11:token=release;object=tegra;type=private' > "$KEYS/hsm/tegrasign/rsa_priv.pem"
sim_reset
expect_error "rsa_priv.pem as a pkcs11: reference: 500 saying the tools need a key file" 500 \
  "key 'rsa_priv.pem' (tegrasign) of 'hsm' is a pkcs11: reference, but the tegra signer hands this key to its tools as a file" \
  /sign/tegra -F machine=hsm -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@in186.tar.gz
check "  ... and no tool ran" not_in flash-helper "$SIMLOG/calls.log"
expect_error "unknown soctype" 400 "soctype 'tegra999' is not one of tegra186, tegra194, tegra210, tegra234" /sign/tegra -F machine=jetson -F soctype=tegra999 -F bspversion=32.7.4 -F artifact=@in186.tar.gz
expect_error "bspversion ../../x" 400 "bspversion '../../x' is not a version" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=../../x -F artifact=@in186.tar.gz
expect_error "a BSP that is not installed lists the installed ones" 400 "installed: L4T-32.7.4-tegra186, L4T-32.7.4-tegra210, L4T-35.5.0-tegra234, L4T-36.4.3-tegra234" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=36.4.3 -F artifact=@in186.tar.gz
expect_error "missing artifact" 400 "artifact" /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4

# --- UEFI capsule ----------------------------------------------------------------
sim_reset
head -c 10000 /dev/urandom > payload.bin
GUID=bf0d4599-20d4-414e-b2c5-3595b1cda402
check "ueficapsule 35.5.0: succeeds" \
  curl --silent --fail -X POST -F machine=jetson -F soctype=tegra234 -F bspversion=35.5.0 -F guid=$GUID \
    -F artifact=@payload.bin --output artifact.cap "$DIGSIG_SERVER/sign/tegra/ueficapsule"
check "ueficapsule: exact GenerateCapsule.py command line (version 0x230500)" \
  logged "GenerateCapsule.py --encode --monotonic-count 1 --fw-version 0x230500 --lsv 0x230500 --guid $GUID --signer-private-cert \$JOB/keys/signer_private_cert.pem --other-public-cert \$JOB/keys/other_public_cert.pem --trusted-public-cert \$JOB/keys/trusted_public_cert.pem -o \$JOB/work/artifact.cap \$JOB/work/artifact"
check "ueficapsule: environment is PATH only" \
  bash -c "[ \"\$(grep '^env GenerateCapsule.py ' '$SIMLOG/calls.log' | cut -d' ' -f3- | cut -d= -f1 | tr '\n' ' ')\" = 'PATH ' ]"
check "ueficapsule: an FMP capsule whose body holds the payload and a signature by the signer key" \
  bash -c "[ \"\$(head -c 16 artifact.cap | od -An -tx1 | tr -d ' \n')\" = edd5cb6d2de8444cbda17194199ad92a ] && tail -c +42 artifact.cap | head -c 10000 | cmp -s - payload.bin && tail -c 256 artifact.cap > cap.sig && openssl x509 -in '$KEYS/demo/ueficapsulesign/signer_private_cert.pem' -pubkey -noout > capsigner.pub && openssl dgst -sha256 -verify capsigner.pub -signature cap.sig payload.bin"
expect_error "ueficapsule: a guid that is not a GUID" 400 "is not a GUID" /sign/tegra/ueficapsule -F machine=jetson -F soctype=tegra234 -F bspversion=35.5.0 -F guid=nope -F artifact=@payload.bin
expect_error "ueficapsule: bspversion without patch level" 400 "must be major.minor.patch" /sign/tegra/ueficapsule -F machine=jetson -F soctype=tegra234 -F bspversion=35.5 -F guid=$GUID -F artifact=@payload.bin
expect_error "ueficapsule: tegra186 is not a capsule soctype" 400 "is not one of tegra194, tegra234" /sign/tegra/ueficapsule -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F guid=$GUID -F artifact=@payload.bin
sim_mode GenerateCapsule.py nothing
expect_error "ueficapsule: tool exits 0 without output: 500" 500 "wrote no artifact.cap" /sign/tegra/ueficapsule -F machine=jetson -F soctype=tegra234 -F bspversion=35.5.0 -F guid=$GUID -F artifact=@payload.bin
sim_mode GenerateCapsule.py error-line
expect_error "ueficapsule: tool exits 0 after a Python traceback: 500" 500 "reported errors" /sign/tegra/ueficapsule -F machine=jetson -F soctype=tegra234 -F bspversion=35.5.0 -F guid=$GUID -F artifact=@payload.bin
sim_reset

# --- EKB ----------------------------------------------------------------------------
ekb_has() { python3 -c "import hashlib,sys; d=open(sys.argv[1],'rb').read(); k=open(sys.argv[3]).read().strip(); sys.exit(0 if sys.argv[2].encode()+b'='+hashlib.sha256(k.encode()).digest() in d else 1)" "$@"; }
check "ekb 35.5.0: succeeds" curl --silent --fail -X POST -F machine=jetson -F soctype=tegra234 -F bspversion=35.5.0 --output ekb35.img "$DIGSIG_SERVER/sign/tegra/ekb"
check "ekb 35.5.0: gen_ekb.py with -fv (BSP before 36)" \
  logged 'gen_ekb.py -chip t234 -oem_k1_key $JOB/keys/oem_k1.key -in_auth_key $JOB/keys/uefi-variable-authentication.key -out $JOB/work/ekb.img -fv $JOB/keys/fixed-vector'
check "ekb: the blob was made from the configured keys" \
  bash -c "$(declare -f ekb_has); ekb_has ekb35.img -oem_k1_key '$KEYS/demo/ekbsign/oem_k1.key' && ekb_has ekb35.img -in_auth_key '$KEYS/demo/ekbsign/uefi-variable-authentication.key'"
openssl rand -hex 32 > "$KEYS/jetson/ekbsign/kernel-encryption.key" 2>/dev/null || true
sim_reset
check "ekb 36.4.3 with kernel-encryption.key: succeeds" curl --silent --fail -X POST -F machine=jetson -F soctype=tegra234 -F bspversion=36.4.3 --output ekb36.img "$DIGSIG_SERVER/sign/tegra/ekb"
check "ekb 36.4.3: no -fv, the optional kernel key as -in_sym_key" \
  logged 'gen_ekb.py -chip t234 -oem_k1_key $JOB/keys/oem_k1.key -in_auth_key $JOB/keys/uefi-variable-authentication.key -out $JOB/work/ekb.img -in_sym_key $JOB/keys/kernel-encryption.key'
check "ekb on tegra194 uses -chip t194" \
  bash -c "curl -sf -X POST -F machine=jetson -F soctype=tegra194 -F bspversion=32.7.4 -o /dev/null '$DIGSIG_SERVER/sign/tegra/ekb' && grep -q '^gen_ekb.py -chip t194 ' '$SIMLOG/calls.log'"
sim_mode gen_ekb.py fail
expect_error "ekb: gen_ekb.py fails: 500 with its message" 500 "simulated failure of gen_ekb.py" /sign/tegra/ekb -F machine=jetson -F soctype=tegra234 -F bspversion=35.5.0
sim_reset

# --- The time limit -------------------------------------------------------------------
stop_server
start_server DIGSIGSERVER_L4T_TOOLS_BASE="$L4T" PATH="$TOOLPATH" DIGSIGSERVER_RESPONSE_TIMEOUT=3
sim_mode flash-helper hang
expect_error "a helper that hangs past the time limit: 504 with its last output" 504 "flash-helper: working..." /sign/tegra -F machine=jetson -F soctype=tegra186 -F bspversion=32.7.4 -F artifact=@in186.tar.gz
check "no simulated tool is left running after the kill" bash -c "! pgrep -f 'sleep 359[9]' >/dev/null"
sim_reset

BSP_AFTER=$(bsp_state)
check "the BSP trees are unchanged (content, modes, times)" [ "$BSP_AFTER" = "$BSP_BEFORE" ]
check "nothing is left in the spool" spool_empty
check "no key material in the server log" no_secrets_in "$WORK/server.log"
it_finish
