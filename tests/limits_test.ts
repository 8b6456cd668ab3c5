import assert from "node:assert/strict";
import { Cidr } from "../lib/cidr.ts";
import { LineFramer, LineTooLongError } from "../lib/line_framer.ts";
import type { LineService } from "../lib/service.ts";
import { MODES } from "../strategies/mod.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { CONCURRENT_MODES } from "./_helpers/modes.ts";

/**
 * Long enough that a Worker or a child process starting on a busy machine
 * does not count as the client being idle before its first answer: idle
 * means no byte moved at all. Under `processes` every client waits for a
 * process to start, which took over 400 ms with the machine's load above 20.
 */
const IDLE_MS = 1_500;

/** Proves a client is being served: one line there and back through `reverse`. */
async function assertServed(client: TestClient, text: string): Promise<void> {
  await client.send(`${text}\n`);
  assert.equal(await client.readLine(), [...text].reverse().join(""));
}

for (const mode of CONCURRENT_MODES) {
  Deno.test(`--max-conns refuses the next client with "ERR server busy" and spares the others under ${mode}`, async () => {
    await using server = await startTestServer({
      mode,
      service: "reverse",
      rules: { maxConns: 2 },
    });
    using first = await TestClient.connect(server.port);
    using second = await TestClient.connect(server.port);
    await assertServed(first, "one");
    await assertServed(second, "two");

    using third = await TestClient.connect(server.port);
    assert.equal(await third.readLine(), "ERR server busy");
    assert.equal(await third.readLine(), null);
    await assertServed(first, "still one");
    await assertServed(second, "still two");

    // A client that leaves frees its place for the next one. Under reuseport the place is
    // given back by message from the thread that served it, so it may take a few tries.
    await first.closeWrite();
    assert.equal(await first.readLine(), null);
    for (let attempt = 1;; attempt++) {
      using fourth = await TestClient.connect(server.port);
      await fourth.send("four\n");
      const reply = await fourth.readLine();
      if (reply === "ruof") break;
      assert.equal(reply, "ERR server busy");
      assert.ok(attempt < 1000, "the place of a client that left was never freed");
    }
  });

  Deno.test(`--max-per-ip refuses one address's next client and spares the others under ${mode}`, async () => {
    await using server = await startTestServer({
      mode,
      service: "reverse",
      rules: { maxPerIp: 1 },
    });
    using first = await TestClient.connect(server.port);
    await assertServed(first, "one");
    using second = await TestClient.connect(server.port);
    assert.equal(await second.readLine(), "ERR too many connections from your address");
    assert.equal(await second.readLine(), null);
    await assertServed(first, "one again");
    assert.equal(server.admission?.openFrom("127.0.0.1"), 1);
  });

  Deno.test(`a reload that sets a per-address limit counts the clients already connected under ${mode}`, async () => {
    // No rule needs the address at first, so none is counted per address.
    await using server = await startTestServer({ mode, service: "reverse", rules: {} });
    const admission = server.admission!;
    using first = await TestClient.connect(server.port);
    using second = await TestClient.connect(server.port);
    await assertServed(first, "one");
    await assertServed(second, "two");

    admission.rules = { maxPerIp: 2 };
    assert.equal(admission.openFrom("127.0.0.1"), 2, "the clients open at the reload are counted");
    using third = await TestClient.connect(server.port);
    assert.equal(await third.readLine(), "ERR too many connections from your address");
    assert.equal(await third.readLine(), null);
    await assertServed(first, "still one");

    // A counted client that leaves gives its place back. Under reuseport the place is
    // given back by message from the thread that served it, so it may take a few tries.
    await first.closeWrite();
    assert.equal(await first.readLine(), null);
    for (let attempt = 1;; attempt++) {
      using fourth = await TestClient.connect(server.port);
      await fourth.send("four\n");
      const reply = await fourth.readLine();
      if (reply === "ruof") break;
      assert.equal(reply, "ERR too many connections from your address");
      assert.ok(attempt < 1000, "the place of a client that left was never freed");
    }
  });
}

for (const mode of MODES) {
  Deno.test(`--deny closes a client before any service runs, even one --allow lets in, under ${mode}`, async () => {
    // chat greets every client it serves, so silence means it never ran.
    await using server = await startTestServer({
      mode,
      service: "chat",
      rules: { allow: [Cidr.parse("127.0.0.0/8")], deny: [Cidr.parse("127.0.0.1/32")] },
    });
    using client = await TestClient.connect(server.port);
    assert.equal((await client.readAll()).byteLength, 0);
  });

  Deno.test(`--allow lets only its blocks in, over IPv4 and IPv6, under ${mode}`, async () => {
    const allowed = await startTestServer({
      mode,
      service: "reverse",
      hostname: "::1",
      rules: { allow: [Cidr.parse("::1/128")] },
    });
    try {
      using client = await TestClient.connect(allowed.port, "::1");
      await assertServed(client, "six");
    } finally {
      await allowed.stop();
    }
    await using refused = await startTestServer({
      mode,
      service: "reverse",
      rules: { allow: [Cidr.parse("10.0.0.0/8"), Cidr.parse("::1")] },
    });
    using client = await TestClient.connect(refused.port);
    assert.equal((await client.readAll()).byteLength, 0);
  });

  Deno.test(`--idle-timeout tells a silent line client and closes it under ${mode}`, async () => {
    await using server = await startTestServer({
      mode,
      service: "reverse",
      idleTimeoutMs: IDLE_MS,
    });
    using client = await TestClient.connect(server.port);
    await assertServed(client, "awake");
    assert.equal(await client.readLine(), "ERR idle timeout");
    assert.equal(await client.readLine(), null);
  });

  Deno.test(`--idle-timeout closes a silent byte-stream client without a word under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: "echo", idleTimeoutMs: IDLE_MS });
    using client = await TestClient.connect(server.port);
    await client.send("ping");
    assert.equal(new TextDecoder().decode(await client.readBytes(4)), "ping");
    assert.equal((await client.readAll()).byteLength, 0);
  });

  Deno.test(`invalid UTF-8, NUL bytes and binary junk get U+FFFD answers, not a crash, under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: "reverse" });
    using client = await TestClient.connect(server.port);
    await client.send(new Uint8Array([0x61, 0xff, 0x62, 0x0a])); // a, invalid byte, b
    assert.equal(await client.readLine(), "b\uFFFDa");
    await client.send(new Uint8Array([0x00, 0x41, 0x00, 0x0a]));
    assert.equal(await client.readLine(), "\0A\0");
    await client.send(new Uint8Array([0xe2, 0x82, 0x0d, 0x0a])); // a truncated "€", then CRLF
    assert.equal(await client.readLine(), "\uFFFD");
    const junk = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256 || 1)
      .map((byte) => byte === 0x0a ? 0x20 : byte);
    await client.send(junk);
    await client.send("\nstill here\n");
    assert.ok((await client.readLine())!.length > 0);
    assert.equal(await client.readLine(), "ereh llits");
  });
}

Deno.test("LineFramer never holds more than the limit of an unfinished line", () => {
  const limit = 1000;
  const framer = new LineFramer(limit);
  const chunk = new Uint8Array(97).fill(0x78);
  let refused = false;
  for (let i = 0; i < 100 && !refused; i++) {
    try {
      framer.push(chunk);
    } catch (error) {
      assert.ok(error instanceof LineTooLongError);
      refused = true;
    }
    assert.ok(framer.buffered <= limit, `holds ${framer.buffered} bytes`);
  }
  assert.ok(refused, "a line 100 times the chunk was never refused");
});

const FAULTY = new URL("./fixtures/faulty_service.ts", import.meta.url).href;
const STUCK = new URL("./fixtures/stuck_service.ts", import.meta.url).href;

for (const mode of MODES) {
  Deno.test(`a service that throws gets its own client "ERR internal error" and closed, nobody else, under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: FAULTY });
    using client = await TestClient.connect(server.port);
    await client.send("hello\n");
    assert.equal(await client.readLine(), "hello");
    await client.send("boom\n");
    assert.equal(await client.readLine(), "ERR internal error");
    assert.equal(await client.readLine(), null);
    using next = await TestClient.connect(server.port);
    await next.send("after\n");
    assert.equal(await next.readLine(), "after");
  });
}

Deno.test("a service passed as an object that throws closes only its client under poll", async () => {
  const throwing: LineService = {
    name: "throwing",
    description: "throws on every line but the first",
    framing: "lines",
    line(session, line) {
      if (line === "throw") throw new TypeError("a bug in a service");
      return session.sendLine(line);
    },
  };
  await using server = await startTestServer({ mode: "poll", service: throwing });
  using bystander = await TestClient.connect(server.port);
  using victim = await TestClient.connect(server.port);
  await victim.send("throw\n");
  assert.equal(await victim.readLine(), "ERR internal error");
  assert.equal(await victim.readLine(), null);
  await bystander.send("fine\n");
  assert.equal(await bystander.readLine(), "fine");
});

Deno.test("workers terminates a Worker stuck past --handler-timeout; others go on", async () => {
  // The handler spins while this file exists. Deno cannot stop a spinning
  // Worker, so the test removes the file at the end, or the thread would eat
  // a core for the rest of the run and starve the tests after it.
  const spinning = await Deno.makeTempFile({ prefix: "servidor-stuck-" });
  try {
    await using server = await startTestServer({
      mode: "workers",
      service: STUCK,
      handlerTimeoutMs: 500,
    });
    using bystander = await TestClient.connect(server.port);
    await bystander.send("before\n");
    assert.equal(await bystander.readLine(), "before");
    using stuck = await TestClient.connect(server.port);
    await stuck.send(`spin ${spinning}\n`);
    assert.equal(await stuck.readLine(), "ERR internal error");
    assert.equal(await stuck.readLine(), null);
    await bystander.send("after\n");
    assert.equal(await bystander.readLine(), "after");
    using next = await TestClient.connect(server.port);
    await next.send("next\n");
    assert.equal(await next.readLine(), "next");
  } finally {
    await Deno.remove(spinning);
  }
});

// A Worker is a thread, a child of processes a process: the same promises hold for both.
for (const [mode, unit] of [["workers", "Worker"], ["processes", "child process"]] as const) {
  Deno.test(`${mode} ends a ${unit} with an uncaught error; its client gets ERR internal error`, async () => {
    await using server = await startTestServer({ mode, service: FAULTY });
    using client = await TestClient.connect(server.port);
    await client.send("crash\n");
    assert.equal(await client.readLine(), "ERR internal error");
    assert.equal(await client.readLine(), null);
    using next = await TestClient.connect(server.port);
    await next.send("next\n");
    assert.equal(await next.readLine(), "next");
  });

  Deno.test(`${mode} does not mistake a ${unit} waiting on a client that does not read for a stuck one`, async () => {
    await using server = await startTestServer({
      mode,
      service: "echo",
      // Generous: on a loaded machine a busy Worker may well be silent for a tenth of a second.
      handlerTimeoutMs: 400,
    });
    using client = await TestClient.connect(server.port);
    // More than the kernel's socket buffers hold, so the service's echo must wait on its sends.
    const mebibytes = 32;
    const message = new Uint8Array(mebibytes * 1024 * 1024).fill(0x2a);
    const sending = client.send(message).then(() => undefined, (error: unknown) => error);
    // Nothing to wait for: the point is that nothing happens over many timeouts.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (let i = 0; i < mebibytes; i++) {
      const echoed = await client.readBytes(1024 * 1024);
      assert.ok(echoed.every((byte) => byte === 0x2a), "the echo was corrupted");
    }
    assert.equal(await sending, undefined);
  });
}
