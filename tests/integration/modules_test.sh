#!/usr/bin/env bash
# /sign/modules end to end: the kernel-module-signing client call, byte-for-
# byte comparison with the kernel's sign-file, verification with openssl,
# compressed and already-signed modules, the rest of the tree unchanged, and
# bad input.
source "$DIGSIG_SOURCE_DIR/tests/support/it_lib.sh"
it_init modules
SIGN_FILE=/usr/lib/linux-kbuild-6.1/scripts/sign-file
[ -x "$SIGN_FILE" ] || { echo "FAIL - $SIGN_FILE is missing (scripts/install-deps.sh test installs it)"; exit 1; }
start_server
cd "$WORK"

# Key sets: demo (RSA-4096, PKCS#8 + PEM cert, from make-dev-keys.sh), and
# k2048 (RSA-2048, PKCS#1 key + DER certificate).
mkdir -p "$KEYS/k2048/kmodsign"
openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=k2048" \
  -keyout k2048.pem -out k2048.crt 2>/dev/null
openssl rsa -in k2048.pem -traditional -out "$KEYS/k2048/kmodsign/kernel-signkey.priv" 2>/dev/null
openssl x509 -in k2048.crt -outform DER -out "$KEYS/k2048/kmodsign/kernel-signkey.x509"
K4096=$KEYS/demo/kmodsign

# A module tree: real ELF objects built here, compressed ones, an already
# signed one, other files, a symlink, an unusual mode.
tree=tree/lib/modules/6.1.0
mkdir -p "$tree/kernel/drivers/misc" "$tree/extra"
for m in alpha beta gamma delta epsilon zeta eta; do
  printf 'static int %s_value = %d;\nint %s_get(void) { return %s_value; }\n' \
    "$m" "${#m}" "$m" "$m" > "$m.c"
  cc -c -O1 "$m.c" -o "$m.ko"
done
cp alpha.ko beta.ko "$tree/kernel/drivers/misc/"
cp gamma.ko "$tree/extra/"
chmod 0600 "$tree/extra/gamma.ko"
cp delta.ko "$tree/extra/delta.ko" && xz --check=crc32 --lzma2=dict=1MiB -f "$tree/extra/delta.ko"
cp epsilon.ko "$tree/extra/epsilon.ko" && gzip -n -f "$tree/extra/epsilon.ko"
cp zeta.ko "$tree/extra/zeta.ko" && zstd -q -f --rm "$tree/extra/zeta.ko"
# eta arrives signed already (with another key): it must be re-signed, not signed twice.
cp eta.ko "$tree/extra/eta.ko"
"$SIGN_FILE" sha256 k2048.pem k2048.crt "$tree/extra/eta.ko"
printf 'kernel/drivers/misc/alpha.ko:\n' > "$tree/modules.dep"
head -c 3000 /dev/urandom > "$tree/modules.bin"
ln -s kernel/drivers/misc/alpha.ko "$tree/alias.ko"
tar -C tree -czf modules-in.tar.gz .

# expected KEYDIR HASHALG MODULE: what sign-file makes of the unsigned MODULE.
expected() {
  local out="expected/$(basename "$(dirname "$1")")-$2-$(basename "$3")"
  mkdir -p expected
  cp "$3" "$out"
  "$SIGN_FILE" "$2" "$1/kernel-signkey.priv" "$1/kernel-signkey.x509" "$out"
  echo "$out"
}

# --- the client call, as the kernel-module-signing class makes it ------------
MACHINE=demo
PKGD=$WORK/pkgd
mkdir -p "$PKGD"
curl --silent --fail -X POST -F "machine=$MACHINE" -F "hashalg=sha512" \
     -F "artifact=@modules-in.tar.gz" --output modules-out.tar.gz "$DIGSIG_SERVER/sign/modules"
tar -C "$PKGD" -x --no-same-owner -f modules-out.tar.gz ./lib/modules
got=$PKGD/lib/modules/6.1.0
check "response members start with ./" bash -c "tar -tzf modules-out.tar.gz | grep -qv '^\./' && exit 1 || true"
for m in kernel/drivers/misc/alpha kernel/drivers/misc/beta extra/gamma; do
  check "$m.ko is byte-identical to sign-file (RSA-4096, sha512)" \
    cmp "$got/$m.ko" "$(expected "$K4096" sha512 "$(basename "$m").ko")"
done
check "an already signed module is re-signed once, identical to signing the unsigned module" \
  cmp "$got/extra/eta.ko" "$(expected "$K4096" sha512 eta.ko)"
xz -dc "$got/extra/delta.ko.xz" > delta.out
check "xz module: decompressed, identical to sign-file" cmp delta.out "$(expected "$K4096" sha512 delta.ko)"
check "xz module is recompressed as the kernel does (CRC32 check)" bash -c "xz -lvv '$got/extra/delta.ko.xz' | grep -q 'CRC32'"
gzip -dc "$got/extra/epsilon.ko.gz" > epsilon.out
check "gzip module: decompressed, identical to sign-file" cmp epsilon.out "$(expected "$K4096" sha512 epsilon.ko)"
zstd -dc -q "$got/extra/zeta.ko.zst" > zeta.out
check "zstd module: decompressed, identical to sign-file" cmp zeta.out "$(expected "$K4096" sha512 zeta.ko)"
check "non-module files come back byte-identical" \
  bash -c "cmp '$got/modules.dep' '$tree/modules.dep' && cmp '$got/modules.bin' '$tree/modules.bin'"
check "symlinks stay symlinks" bash -c "[ \"\$(readlink '$got/alias.ko')\" = kernel/drivers/misc/alpha.ko ]"
check "modes are kept" bash -c "[ \"\$(stat -c %a '$got/extra/gamma.ko')\" = 600 ]"
check "the same set of members comes back" \
  bash -c "diff <(tar -tzf modules-in.tar.gz | sed 's,/\$,,' | sort) <(tar -tzf modules-out.tar.gz | sed 's,/\$,,' | sort)"

# Independent verification: cut the PKCS#7 blob off and verify with openssl.
# verify_module MODULE CERT: the module's signature verifies over its content.
verify_module() {
  local module=$1 cert=$2 size siglen
  size=$(stat -c %s "$module")
  siglen=$(tail -c 40 "$module" | head -c 12 | tail -c 4 | od -An -tu1 | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  head -c $((size - 40 - siglen)) "$module" > verify.content
  tail -c $((siglen + 40)) "$module" | head -c "$siglen" > verify.p7
  openssl cms -verify -binary -inform DER -in verify.p7 -content verify.content \
    -certfile "$cert" -noverify -out /dev/null 2>/dev/null
}
check "openssl cms -verify accepts a signed module" verify_module "$got/kernel/drivers/misc/alpha.ko" "$K4096/kernel-signkey.x509"
cp "$got/kernel/drivers/misc/alpha.ko" flipped.ko
printf '\x00' | dd of=flipped.ko bs=1 seek=100 conv=notrunc 2>/dev/null
check "a one-byte change makes verification fail" bash -c "! verify_module flipped.ko '$K4096/kernel-signkey.x509'"
export -f verify_module

# --- every hash algorithm with both key sizes ------------------------------------
for keyset in demo k2048; do
  for alg in sha256 sha384 sha512; do
    rm -rf "out-$keyset-$alg" && mkdir "out-$keyset-$alg"
    curl -s --fail -X POST -F "machine=$keyset" -F "hashalg=$alg" -F "artifact=@modules-in.tar.gz" \
         -o "out-$keyset-$alg.tar.gz" "$DIGSIG_SERVER/sign/modules"
    tar -C "out-$keyset-$alg" -xzf "out-$keyset-$alg.tar.gz"
    check "$keyset $alg: identical to sign-file" \
      cmp "out-$keyset-$alg/lib/modules/6.1.0/kernel/drivers/misc/beta.ko" "$(expected "$KEYS/$keyset/kmodsign" "$alg" beta.ko)"
  done
done
curl -s --fail -X POST -F machine=demo -F "artifact=@modules-in.tar.gz" -o default.tar.gz "$DIGSIG_SERVER/sign/modules"
mkdir -p default && tar -C default -xzf default.tar.gz
check "without hashalg, modules are signed with sha512" \
  cmp default/lib/modules/6.1.0/extra/gamma.ko "$(expected "$K4096" sha512 gamma.ko)"

# --- a tree without modules comes back as it was ----------------------------------
mkdir -p empty/lib/modules/6.1.0 && echo nothing > empty/lib/modules/6.1.0/modules.order
tar -C empty -czf empty.tar.gz .
post /sign/modules -F machine=demo -F artifact=@empty.tar.gz
mkdir -p empty-out && tar -C empty-out -xzf "$WORK/body"
check "a tree with no modules: 200 and the same tree" \
  bash -c "[ '$STATUS' = 200 ] && cmp empty-out/lib/modules/6.1.0/modules.order empty/lib/modules/6.1.0/modules.order"

# --- bad input ----------------------------------------------------------------------
head -c 5000 /dev/urandom > random.bin
expect_error "not gzip" 400 "not a gzip-compressed tar archive" /sign/modules -F machine=demo -F artifact=@random.bin
head -c 5000 /dev/urandom | gzip > notatar.gz
expect_error "gzip but not tar" 400 "Invalid artifact" /sign/modules -F machine=demo -F artifact=@notatar.gz
mkdir -p bad/sub && cp alpha.ko bad/evil.ko
(cd bad/sub && tar -czPf ../../dotdot.tar.gz ../evil.ko)
expect_error "traversal member ../evil.ko" 400 "'../evil.ko' leaves" /sign/modules -F machine=demo -F artifact=@dotdot.tar.gz
tar -czPf absolute.tar.gz "$WORK/bad/evil.ko" 2>/dev/null
expect_error "absolute member name" 400 "leaves the extraction directory" /sign/modules -F machine=demo -F artifact=@absolute.tar.gz
mkdir -p linkout && ln -s /etc/passwd linkout/passwd.ko && tar -C linkout -czf linkout.tar.gz .
expect_error "symlink out of the tree" 400 "points outside the archive" /sign/modules -F machine=demo -F artifact=@linkout.tar.gz
mkdir -p kodir/weird.ko && tar -C kodir -czf kodir.tar.gz .
expect_error "a .ko that is a directory" 400 "named like a module but is a directory" /sign/modules -F machine=demo -F artifact=@kodir.tar.gz
expect_error "wrong hashalg" 400 "use sha256, sha384 or sha512" /sign/modules -F machine=demo -F hashalg=md5 -F artifact=@modules-in.tar.gz
expect_error "missing machine" 400 "Machine name missing" /sign/modules -F artifact=@modules-in.tar.gz
expect_error "missing artifact" 400 "'artifact' is missing" /sign/modules -F machine=demo
expect_error "unknown machine" 404 "no kmodsign keys are configured for 'nomachine'" /sign/modules -F machine=nomachine -F artifact=@modules-in.tar.gz
mkdir -p "$KEYS/halfkeys/kmodsign" && cp "$K4096/kernel-signkey.priv" "$KEYS/halfkeys/kmodsign/"
expect_error "missing certificate" 404 "key 'kernel-signkey.x509' (kmodsign) of 'halfkeys' does not exist" /sign/modules -F machine=halfkeys -F artifact=@modules-in.tar.gz
mkdir -p "$KEYS/mismatch/kmodsign" && cp "$K4096/kernel-signkey.priv" "$KEYS/mismatch/kmodsign/" \
  && cp "$KEYS/k2048/kmodsign/kernel-signkey.x509" "$KEYS/mismatch/kmodsign/"
expect_error "certificate that does not match the key" 500 "does not match the private key" /sign/modules -F machine=mismatch -F artifact=@modules-in.tar.gz
check "no key material in the server log" no_secrets_in "$WORK/server.log"

it_finish
