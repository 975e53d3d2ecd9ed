import forge from "node-forge";
import { generateKeyPairSync } from "node:crypto";

/** An RSA key pair made by Node's native crypto (forge's pure-JS generator takes seconds), in forge's types. */
export function generateRsaKeyPair(): forge.pki.rsa.KeyPair {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgePrivate, publicKey: forge.pki.rsa.setPublicKey(forgePrivate.n, forgePrivate.e) };
}
