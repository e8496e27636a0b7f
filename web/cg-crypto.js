// SPDX-License-Identifier: LGPL-2.1-or-later
// The EncryptedCredential (README.md, "What it is"), made in the browser with panva/jose
// (Debian's node-jose-browser-runtime, compiled into the agent): JWE compact,
// alg ECDH-ES, enc A256GCM, to the agent's P-256 sealing key, kid its RFC
// 7638 thumbprint, ctx (when given) in the protected header.
import { CompactEncrypt, calculateJwkThumbprint, importJWK } from './vendor/jose.js';

export class KeyError extends Error {}

// Import the agent's public sealing JWK after checking that it is what the
// agent publishes: EC P-256, and its kid is its own thumbprint.
export async function importSealingKey (jwk) {
  if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' ||
      typeof jwk.y !== 'string' || typeof jwk.kid !== 'string' || 'd' in jwk) {
    throw new KeyError('the sealing key is not a public P-256 JWK with a kid');
  }
  const pub = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  if (await calculateJwkThumbprint(pub, 'sha256') !== jwk.kid) {
    throw new KeyError('the sealing key\'s kid is not its RFC 7638 thumbprint');
  }
  return { kid: jwk.kid, key: await importJWK(pub, 'ECDH-ES') };
}

// Seal @plaintext (a string) to @sealingKey (from importSealingKey); @ctx
// may be null.  Returns the compact JWE.
export async function seal (sealingKey, plaintext, ctx = null) {
  const header = { alg: 'ECDH-ES', enc: 'A256GCM', kid: sealingKey.kid };
  if (ctx !== null && ctx !== undefined) header.ctx = ctx;
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader(header)
    .encrypt(sealingKey.key);
}
