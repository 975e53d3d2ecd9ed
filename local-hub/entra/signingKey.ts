import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { join } from "node:path";
import { KEY_FILE_MODE, readIfExists, writeFileAtomic } from "../tls/files";

/** The key the hub signs its Entra access tokens with (RS256), kept in the private state dir. */
export interface TokenSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `kid` in the tokens' header and in the JWKS: a digest of the public key, so a new key has a new id. */
  keyId: string;
}

export const TOKEN_SIGNING_KEY_FILE = "token-signing-key.pem";

/**
 * The state dir's token-signing key: made once (mode 0600, like the CA key), reused on restart so tokens issued
 * before a restart stay valid until they expire. Never logged or served; only its public half is (the JWKS).
 */
export function ensureTokenSigningKey(stateDir: string): TokenSigningKey {
  const file = join(stateDir, TOKEN_SIGNING_KEY_FILE);
  let pem = readIfExists(file);
  if (!pem) {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    writeFileAtomic(file, pem, KEY_FILE_MODE);
  }
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  const keyId = createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("base64url")
    .slice(0, 27);
  return { privateKey, publicKey, keyId };
}
