/**
 * A throw-away TLS certificate for tests and benchmarks on loopback, made by
 * `openssl` in a fresh directory under /tmp and removed with it. Both the
 * test suites and `bench/transports.ts` use it, so it lives here rather than
 * in either of them.
 *
 * @module
 */

/** A throw-away self-signed certificate, removed with its directory on dispose. */
export interface TestCertificate {
  /** The files as `ListenOptions` takes them. */
  files: { certFile: string; keyFile: string };
  /** The certificate in PEM, for a client to trust. */
  cert: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Makes a certificate for `localhost`, `127.0.0.1` and `::1` with Debian's
 * `openssl`, in a fresh directory under /tmp. It is its own trust anchor, so
 * it must say it is not a CA: rustls refuses a CA certificate as a server's.
 */
export async function makeTestCertificate(): Promise<TestCertificate> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-tls-" });
  const files = { certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` };
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-keyout",
      files.keyFile,
      "-out",
      files.certFile,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!made.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `openssl could not make a certificate: ${new TextDecoder().decode(made.stderr)}`,
    );
  }
  return {
    files,
    cert: await Deno.readTextFile(files.certFile),
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}
