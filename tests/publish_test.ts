/**
 * Nothing secret is published: a copy of the repository with a TLS key and
 * certificate in it (where the README's TLS steps once left them) is run
 * through `deno publish --dry-run`, which must list neither file, whether
 * `.gitignore` or `deno.json`'s publish exclude list is what keeps them out.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers.ts";

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
