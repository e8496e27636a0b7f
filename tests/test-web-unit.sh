#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The browser page's own logic under node (tests/test-web-unit.mjs), with
# linked-service cases the C side (credgate-encrypt-value --key, offline)
# rewrote first, so the page's transformer is compared with the CLI's
# output byte for byte: document, sealed plaintext (opened with jose) and ctx.
set -euo pipefail
: "${top_builddir:?}" "${top_srcdir:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$work/key.jwk"
kid=$(jose jwk thp -i "$work/key.jwk")
jose jwk pub -i "$work/key.jwk" | python3 -c 'import json,sys; k=json.load(sys.stdin); k["kid"]=sys.argv[1]; print(json.dumps(k))' "$kid" >"$work/pub.jwk"

n=0
add () { n=$((n + 1)); printf '%s' "$1" >"$work/case-$n.json"; }
add '{"name":"a","properties":{"type":"T","typeProperties":{"password":"p","server":"s"}}}'
add '{"name":"b","properties":{"typeProperties":{"connectionString":"Server=x;Password=\"q;\"\"r\";User Id=u"}}}'
add '{"name":"c","properties":{"typeProperties":{"connectionString":{"type":"SecureString","value":"PWD={a}}b};x=1;"}}}}'
add '{"name":"d","properties":{"typeProperties":{"9":{"type":"SecureString","value":"nine"},"1":"one","PassWord":"P"}}}'
add '{"name":"e","properties":{"typeProperties":{"list":[{"x":{"type":"SecureString","value":"in object in array"}},{"sasToken":"t"},[{"pwd":"deep"}],[[{"accountKey":"deeper"}]]],"n":1.25e-7}}}'
add '{"name":"e2","properties":{"typeProperties":{"list":[1,[{"type":"SecureString","value":"in array"}]]}}}'
add '{"name":"e3","properties":{"typeProperties":{"x":{"type":"SecureString","value":5},"password":"p"}}}'
add '{"name":"f","properties":{"typeProperties":{"connectionString":"Password=a;password=b;PASSWORD=c","AccountKey":"k","accountKey":"k2"}}}'
add '{"name":"g","properties":{"typeProperties":{"vault":{"type":"AzureKeyVaultSecret","secretName":"s"},"x":{"y":{"servicePrincipalKey":"spk"}}}}}'
add '{"name":"h","properties":{"typeProperties":{"password":"ü\u0001\"\\/\t","big":123456789012345678,"t":true,"n":null}}}'
add '{"name":"i","properties":{"typeProperties":{"connectionString":"  SharedAccessKey = ab= ; Endpoint=sb://x/ ;SharedAccessSignature=sv&sig ;  "}}}'
add '{"name":"j","properties":{"typeProperties":{"password":{"type":"SecureString","value":"v","extra":1},"pwd":{"type":"Other","value":"x"}}}}'
add '{"name":"k","properties":{"typeProperties":{"encryptedCredential":"old","password":"p"}}}'
add '{"name":"l","properties":{"typeProperties":{"nothing":"here"}}}'
add '{"name":"bad name","properties":{"typeProperties":{"password":"p"}}}'
add "$(cat "$top_srcdir/tests/data/linked-service/new-shape.json")"
add "$(cat "$top_srcdir/tests/data/linked-service/old-shape.json")"

for f in "$work"/case-*.json; do
  base=${f%.json}
  if "$top_builddir/credgate-encrypt-value" --key "$work/pub.jwk" --linked-service "$f" >"$base.cli" 2>"$base.err"; then
    jwe=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["properties"]["typeProperties"]["encryptedCredential"])' "$base.cli")
    printf '%s' "$jwe" | jose jwe dec -i- -k "$work/key.jwk" -O- >"$base.secrets"
    python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["ctx"])' "$jwe" >"$base.ctx"
  else
    : >"$base.refused"
  fi
done
[ "$(ls "$work"/*.refused | wc -l)" -eq 5 ] || { echo "FAIL: expected 5 refused cases: $(ls "$work"/*.refused)"; exit 1; }

CG_WEB_DIFF_DIR=$work top_srcdir=$top_srcdir top_builddir=$top_builddir \
  node --test "$top_srcdir/tests/test-web-unit.mjs"
