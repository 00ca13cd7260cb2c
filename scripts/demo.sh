#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, generates
# development keys for every signer (once, into ./demo/), and runs the server
# in the foreground on port 9999 (PORT=... to change). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh demo
cmake --preset release >/dev/null
cmake --build --preset release

scripts/fetch-cst.sh "$root/demo/nxp"
CST_BASE="$root/demo/nxp" scripts/make-dev-keys.sh "$root/demo" demo
port=${PORT:-9999}
cat <<EOT

Demo key store: $root/demo/keys (selector "demo"; CA and public keys in $root/demo/pki)
Try, from another terminal:
  echo 'software = { version = "1.0"; };' > sw-description
  curl --fail -X POST -F sw-description=@sw-description -F distro=demo -F method=CMS \\
       --output sw-description.sig http://localhost:$port/sign/swupdate
  openssl cms -verify -binary -inform DER -in sw-description.sig -content sw-description \\
       -CAfile $root/demo/pki/ca.crt -purpose any -out /dev/null

  mkdir -p tree/lib/modules/6.1/extra && echo 'int f(void) { return 1; }' > m.c
  cc -c m.c -o tree/lib/modules/6.1/extra/m.ko && tar -C tree -czf modules-in.tar.gz .
  curl --fail -X POST -F machine=demo -F artifact=@modules-in.tar.gz \\
       --output modules-out.tar.gz http://localhost:$port/sign/modules

  curl --fail -X POST -F machine=demo -F signing_type=sbsign \\
       -F artifact=@/usr/lib/systemd/boot/efi/systemd-bootx64.efi \\
       --output systemd-bootx64.efi.signed http://localhost:$port/sign/tegra/uefi

  head -c 100000 /dev/urandom > rootfs.ext4
  mender-artifact write rootfs-image -t demo-board -n demo-1 -f rootfs.ext4 -o $root/demo/artifacts/demo.mender
  curl --fail -X POST -F distro=demo -F artifact-uri=file://$root/demo/artifacts/demo.mender \\
       http://localhost:$port/sign/mender
  mender-artifact validate -k $root/demo/pki/demo-mender-public.pem $root/demo/artifacts/demo.mender

  # Rockchip FIT image (real mkimage; the signature nodes name key "dev")
  mkdir -p rk && head -c 4096 /dev/urandom > rk/Image
  printf '%s\n' '/dts-v1/;' '/ { description = "demo"; #address-cells = <1>;' \
    '  images { kernel { data = /incbin/("Image"); type = "kernel"; arch = "arm64"; os = "linux";' \
    '    compression = "none"; load = <0x280000>; entry = <0x280000>; hash { algo = "sha256"; };' \
    '    signature { algo = "sha256,rsa2048"; key-name-hint = "dev"; }; }; };' \
    '  configurations { default = "conf"; conf { kernel = "kernel"; }; }; };' > rk/fit.its
  (cd rk && tar -c -h -z -f ../rk-fit.tar.gz fit.its Image)
  curl --fail -X POST -F machine=demo -F soctype=rk3588 -F artifact_type=fit-image \
       -F artifact=@rk-fit.tar.gz --output rk-fit-signed.tar.gz http://localhost:$port/sign/rk

  # NVIDIA Jetson and Rockchip's own tools are vendor downloads: until they are
  # installed (docs/signers/tegra.md, docs/signers/rockchip.md) these answer
  # with what is missing, for example:
  curl -X POST -F machine=demo -F soctype=tegra234 -F bspversion=35.5.0 \
       -F artifact=@rk-fit.tar.gz http://localhost:$port/sign/tegra

  curl http://localhost:$port/signers
  (i.MX: a CSF naming files under crts/ of $root/demo/keys/demo/imxsign/imx-cst-keys.tar.gz,
   see docs/signers/imx.md)

EOT
export DIGSIGSERVER_KEYFILE_URI="file://$root/demo/keys"
export DIGSIGSERVER_SPOOL_DIR="$root/demo/spool"
export DIGSIGSERVER_IMX_CST_BASE="$root/demo/nxp"
export DIGSIGSERVER_ARTIFACT_DIRS="$root/demo/artifacts"
mkdir -p "$root/demo/artifacts"
exec build/release/digsigserver --port "$port"
