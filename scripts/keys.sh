#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The test keys for signed kexec images: scripts/keys.sh
#
# Makes, only when missing, two RSA-2048 key pairs with self-signed X.509
# certificates (SHA-256) in $CACHE/keys, and prints that directory on stdout:
#
#   trusted.key, trusted.crt      built into the test kernels
#                                 (CONFIG_SYSTEM_TRUSTED_KEYS, set by
#                                 scripts/build-kernel.sh): images signed with
#                                 it pass kexec_file_load's signature check
#   untrusted.key, untrusted.crt  the same kind of key, which the kernels do not
#                                 know: its signatures get ENOKEY
#   x509.genkey                   the openssl configuration they were made with
#
# The certificates have what the kernel's X.509 parser and the builtin keyring
# ask for (certs/default_x509.genkey): keyUsage=digitalSignature, a
# subjectKeyIdentifier and CA:FALSE. Keys are made once per cache: the kernels
# are built with trusted.crt, so a new one would need new kernels (delete the
# directory, then run scripts/build-kernel.sh and tools/initramfs/build.sh
# again). Test keys only: the private keys are not protected.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=$CACHE/keys
mkdir -p "$dir"
show_version openssl openssl version

genkey=$dir/x509.genkey
if ! [ -f "$genkey" ]; then
    cat >"$genkey.tmp" <<'EOF'
[ req ]
default_bits = 2048
distinguished_name = req_distinguished_name
prompt = no
string_mask = utf8only
x509_extensions = myexts

[ req_distinguished_name ]
O = kexec-rust tests
CN = kexec-rust test key

[ myexts ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
    mv "$genkey.tmp" "$genkey"
fi

for name in trusted untrusted; do
    [ -s "$dir/$name.key" ] && [ -s "$dir/$name.crt" ] && continue
    log "making the $name test key pair in $dir"
    # The subject names the key, so that the two certificates differ in more
    # than their key.
    timeout 120 openssl req -new -x509 -nodes -utf8 -sha256 -days 36500 -batch \
        -newkey rsa:2048 -config "$genkey" -subj "/O=kexec-rust tests/CN=kexec-rust $name test key" \
        -keyout "$dir/$name.key.tmp" -outform PEM -out "$dir/$name.crt.tmp" 2>/dev/null ||
        die "openssl req failed making the $name test key"
    chmod 0600 "$dir/$name.key.tmp"
    mv "$dir/$name.key.tmp" "$dir/$name.key"
    mv "$dir/$name.crt.tmp" "$dir/$name.crt"
done
echo "$dir"
