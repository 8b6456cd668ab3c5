/**
 * Nothing secret is published: a copy of the repository with a TLS key and
 * certificate in it (where the README's TLS steps once left them) is run
 * through `deno publish --dry-run`, which must list neither file, whether
 * `.gitignore` or `deno.json`'s publish exclude list is what keeps them out.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers/cli.ts";

const decoder = new TextDecoder();

/** Copies the files git tracks (and those added but not yet committed) into `dir`. */
async function copyCheckout(dir: string): Promise<void> {
  const listed = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.ok(listed.success, "git ls-files failed");
  for (const file of decoder.decode(listed.stdout).split("\0").filter(Boolean)) {
    const target = `${dir}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${ROOT}/${file}`, target);
  }
}

async function publishedFiles(dir: string): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = decoder.decode(output.stdout) + decoder.decode(output.stderr);
  assert.ok(output.success, said);
  const files = [...said.matchAll(/^\s+(file:\/\/\S+)/gm)].map((match) => match[1]!);
  assert.ok(files.some((file) => file.endsWith("/mod.ts")), `no file list in:\n${said}`);
  return files;
}

Deno.test("deno publish --dry-run lists no .pem file, by .gitignore or by the publish exclude list alone", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-publish-" });
  try {
    await copyCheckout(dir);
    await Deno.writeTextFile(`${dir}/key.pem`, "-----BEGIN PRIVATE KEY-----\n");
    await Deno.writeTextFile(`${dir}/cert.pem`, "-----BEGIN CERTIFICATE-----\n");
    await Deno.mkdir(`${dir}/certs`);
    await Deno.writeTextFile(`${dir}/certs/server.pem`, "-----BEGIN CERTIFICATE-----\n");

    const withIgnore = await publishedFiles(dir);
    assert.deepEqual(withIgnore.filter((file) => file.endsWith(".pem")), []);
    assert.ok(withIgnore.some((file) => file.endsWith("/LICENSE")), "LICENSE is published");

    await Deno.remove(`${dir}/.gitignore`);
    const excludeAlone = await publishedFiles(dir);
    assert.deepEqual(excludeAlone.filter((file) => file.endsWith(".pem")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The certificate-making lines of docs/transports.md's TLS steps, up to starting the server. */
async function documentedCertificateSteps(): Promise<string> {
  const page = await Deno.readTextFile(`${ROOT}/docs/transports.md`);
  const block = /\*\*TLS\.\*\*[\s\S]*?```sh\n([\s\S]*?)```/.exec(page)?.[1];
  assert.ok(block, "docs/transports.md has no TLS steps");
  const lines = block.split("\n");
  const server = lines.findIndex((line) => line.startsWith("deno run"));
  assert.ok(server > 0, "the TLS steps start a server");
  return lines.slice(0, server).join("\n");
}

Deno.test("the documented TLS steps leave no key in the checkout, and the package has none", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-publish-" });
  let made: string | undefined;
  try {
    await copyCheckout(dir);
    const steps = await documentedCertificateSteps();
    const output = await new Deno.Command("bash", {
      args: ["-euc", `${steps}\necho "$tls"`],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(output.success, decoder.decode(output.stderr));
    made = decoder.decode(output.stdout).trim();
    assert.ok(!made.startsWith(dir), `the steps made their files inside the checkout: ${made}`);
    assert.ok(Deno.statSync(`${made}/key.pem`).isFile && Deno.statSync(`${made}/cert.pem`).isFile);
    const pems: string[] = [];
    for await (const entry of walk(dir)) if (entry.endsWith(".pem")) pems.push(entry);
    assert.deepEqual(pems, []);
    assert.deepEqual((await publishedFiles(dir)).filter((file) => file.endsWith(".pem")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
    if (made) await Deno.remove(made, { recursive: true });
  }
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}
