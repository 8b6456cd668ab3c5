/**
 * A test server over TLS with a throw-away certificate.
 *
 * @module
 */
import { startTestServer, type TestServer, type TestServerOptions } from "../../testing.ts";
import { makeTestCertificate, type TestCertificate } from "../../lib/test_certificate.ts";

/** A test server over TLS, with the throw-away certificate it serves. */
export interface TlsTestServer extends TestServer {
  certificate: TestCertificate;
}

/**
 * Starts a server over TLS on 127.0.0.1 with a fresh certificate; disposing
 * of it stops the server, then removes the certificate.
 */
export async function startTlsServer(
  options: Omit<TestServerOptions, "listen">,
): Promise<TlsTestServer> {
  const certificate = await makeTestCertificate();
  let server: TestServer;
  try {
    server = await startTestServer({
      ...options,
      listen: { transport: "tls", hostname: "127.0.0.1", port: 0, ...certificate.files },
    });
  } catch (error) {
    await certificate[Symbol.asyncDispose]();
    throw error;
  }
  return {
    ...server,
    certificate,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await certificate[Symbol.asyncDispose]();
    },
  };
}
