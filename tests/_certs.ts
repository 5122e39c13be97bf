/**
 * Test certificates, made with `openssl` when first needed and never
 * committed: self-signed end-entity certificates (CA:FALSE, as rustls
 * requires) valid for `localhost` and `127.0.0.1`, a second one nobody
 * trusts, and one made out for another name; and for mutual TLS, a CA of
 * client certificates, a client certificate it signed, and one signed by
 * another CA.
 *
 * @module
 */

/** A PEM certificate and its private key, also written to files. */
export interface CertPair {
  /** PEM certificate. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** Path of the certificate file. */
  certPath: string;
  /** Path of the key file. */
  keyPath: string;
}

/** The certificates the TLS tests use. */
export interface TestCerts {
  /** Valid for localhost and 127.0.0.1; clients trust it through `caCerts`. */
  trusted: CertPair;
  /** Valid for the same names, but a different key no client trusts. */
  untrusted: CertPair;
  /** Valid only for `wrong.example`. */
  wrongName: CertPair;
  /** The CA that signs client certificates (CA:TRUE). */
  clientCa: CertPair;
  /** A client certificate (`CN=alice`, clientAuth) signed by `clientCa`. */
  client: CertPair;
  /** A client certificate (`CN=mallory`) signed by another CA. */
  rogueClient: CertPair;
  /** A client certificate (`CN=alice`) signed by `clientCa` that expired in 2020. */
  expiredClient: CertPair;
  /** The temporary directory holding the files. */
  dir: string;
}

async function openssl(args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

async function readPair(certPath: string, keyPath: string): Promise<CertPair> {
  return {
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
    certPath,
    keyPath,
  };
}

/** A self-signed CA certificate. */
async function makeCa(dir: string, name: string, subject: string): Promise<CertPair> {
  const [certPath, keyPath] = [`${dir}/${name}.cert.pem`, `${dir}/${name}.key.pem`];
  await openssl([
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", subject],
    ...["-keyout", keyPath, "-out", certPath],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign,cRLSign"],
  ]);
  return await readPair(certPath, keyPath);
}

/** A client certificate (clientAuth) for `subject`, signed by `ca`. */
async function makeClient(
  dir: string,
  name: string,
  subject: string,
  ca: CertPair,
): Promise<CertPair> {
  const [certPath, keyPath] = [`${dir}/${name}.cert.pem`, `${dir}/${name}.key.pem`];
  const [csrPath, extPath] = [`${dir}/${name}.csr`, `${dir}/${name}.ext`];
  await openssl([
    ...["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", subject],
    ...["-keyout", keyPath, "-out", csrPath],
  ]);
  await Deno.writeTextFile(
    extPath,
    "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n" +
      "extendedKeyUsage=clientAuth\n",
  );
  await openssl([
    ...["x509", "-req", "-in", csrPath, "-CA", ca.certPath, "-CAkey", ca.keyPath],
    ...["-set_serial", String(Date.now()), "-days", "2", "-extfile", extPath, "-out", certPath],
  ]);
  return await readPair(certPath, keyPath);
}

/** A client certificate signed by `ca` that was valid for one day of 2020 (`openssl ca` sets dates). */
async function makeExpiredClient(dir: string, ca: CertPair, client: CertPair): Promise<CertPair> {
  const db = `${dir}/expired-db`;
  await Deno.mkdir(db);
  await Deno.writeTextFile(`${db}/index.txt`, "");
  await Deno.writeTextFile(`${db}/serial`, "01\n");
  await Deno.writeTextFile(
    `${db}/ca.cnf`,
    `[ca]\ndefault_ca = test\n[test]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}\n` +
      `serial = ${db}/serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n` +
      "[ext]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = digitalSignature,keyEncipherment\n" +
      "extendedKeyUsage = clientAuth\n",
  );
  const certPath = `${dir}/expired-client.cert.pem`;
  await openssl([
    ...["ca", "-batch", "-config", `${db}/ca.cnf`, "-cert", ca.certPath, "-keyfile", ca.keyPath],
    ...["-in", client.certPath.replace(/\.cert\.pem$/, ".csr"), "-out", certPath],
    ...["-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extensions", "ext"],
  ]);
  return await readPair(certPath, client.keyPath);
}

async function makePair(
  dir: string,
  name: string,
  subject: string,
  hosts: string,
): Promise<CertPair> {
  const certPath = `${dir}/${name}.cert.pem`;
  const keyPath = `${dir}/${name}.key.pem`;
  const output = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "2",
      "-subj",
      subject,
      "-addext",
      `subjectAltName=${hosts}`,
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "keyUsage=digitalSignature,keyEncipherment",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`openssl req failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return {
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
    certPath,
    keyPath,
  };
}

let made: Promise<TestCerts> | null = null;

/** The test certificates (made once per test process; removed when it exits). */
export function testCerts(): Promise<TestCerts> {
  made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "pants-tls-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Already gone.
      }
    });
    const [trusted, untrusted, wrongName] = await Promise.all([
      makePair(dir, "trusted", "/CN=localhost", "DNS:localhost,IP:127.0.0.1"),
      // Another subject too: with the trusted one's, rustls reports BadSignature.
      makePair(dir, "untrusted", "/CN=localhost/O=Untrusted", "DNS:localhost,IP:127.0.0.1"),
      makePair(dir, "wrong", "/CN=wrong.example", "DNS:wrong.example"),
    ]);
    const [clientCa, rogueCa] = await Promise.all([
      makeCa(dir, "client-ca", "/CN=Pants Test Client CA"),
      makeCa(dir, "rogue-ca", "/CN=Rogue CA"),
    ]);
    const [client, rogueClient] = await Promise.all([
      makeClient(dir, "client", "/CN=alice", clientCa),
      makeClient(dir, "rogue-client", "/CN=mallory", rogueCa),
    ]);
    const expiredClient = await makeExpiredClient(dir, clientCa, client);
    return { trusted, untrusted, wrongName, clientCa, client, rogueClient, expiredClient, dir };
  })();
  return made;
}
