/**
 * One chat conversation that several tests hold, on one server or across two.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TestClient } from "../../testing.ts";
import { Netcat } from "./tools.ts";

/**
 * Two chat clients, ana and ben, go through everything chat does: welcome,
 * join notice, renames (a taken one refused), messages both ways, `/who` and
 * `/quit`. They may be on one server or on two that share a bus.
 */
export async function chatConversation(anaPort: number, benPort: number): Promise<void> {
  using ana = await TestClient.connect(anaPort);
  assert.match((await ana.readLine())!, /^\* welcome, guest\d+/);
  using ben = await TestClient.connect(benPort);
  assert.match((await ben.readLine())!, /^\* welcome, guest\d+/);
  assert.match((await ana.readLine())!, /^\* guest\d+ joined$/);

  await ana.send("/nick ana\n");
  assert.equal(await ana.readLine(), "* you are now ana");
  // Across Workers or servers, ana's own join notice may still be on its way
  // when ben arrives; he may hear it late, and that is all right.
  let heard = (await ben.readLine())!;
  if (/^\* guest\d+ joined$/.test(heard)) heard = (await ben.readLine())!;
  assert.match(heard, /^\* guest\d+ is now ana$/);
  await ben.send("/nick ana\n");
  assert.equal(await ben.readLine(), "ERR nick ana is taken");
  await ben.send("/nick ben\r\n");
  assert.equal(await ben.readLine(), "* you are now ben");
  assert.match((await ana.readLine())!, /^\* guest\d+ is now ben$/);

  await ana.send("hola, ben\n");
  assert.equal(await ben.readLine(), "<ana> hola, ben");
  await ben.send("hola\r\nqué tal\n");
  assert.equal(await ana.readLine(), "<ben> hola");
  assert.equal(await ana.readLine(), "<ben> qué tal");

  await ana.send("/who\n");
  assert.match(
    (await ana.readLine())!,
    /^\* online \(2\): ana \(127\.0\.0\.1:\d+\), ben \(127\.0\.0\.1:\d+\)$/,
  );
  await ben.send("/quit\n");
  assert.equal(await ben.readLine(), "* bye");
  assert.equal(await ben.readLine(), null);
  assert.equal(await ana.readLine(), "* ben left");
}

/**
 * Two real `nc` clients, ana and ben, chat on one server: welcome, join
 * notice, a rename, a message each way, and `/quit` from both, each leaving
 * `nc` with status 0.
 */
export async function netcatChat(port: number): Promise<void> {
  const ana = new Netcat(port);
  assert.match((await ana.readLine())!, /^\* welcome, guest\d+/);
  const ben = new Netcat(port);
  assert.match((await ben.readLine())!, /^\* welcome, guest\d+/);
  assert.match((await ana.readLine())!, /^\* guest\d+ joined$/);
  await ana.send("/nick ana\n");
  assert.equal(await ana.readLine(), "* you are now ana");
  assert.match((await ben.readLine())!, /^\* guest\d+ is now ana$/);
  await ana.send("hola, ¿qué tal?\n");
  assert.equal(await ben.readLine(), "<ana> hola, ¿qué tal?");
  await ben.send("bien\n");
  assert.match((await ana.readLine())!, /^<guest\d+> bien$/);
  await ben.send("/quit\n");
  assert.equal(await ben.readLine(), "* bye");
  assert.equal(await ben.exited(), 0);
  assert.match((await ana.readLine())!, /^\* guest\d+ left$/);
  await ana.send("/quit\n");
  assert.equal(await ana.readLine(), "* bye");
  assert.equal(await ana.exited(), 0);
}

/** Connects and reads the welcome line; returns the client and its guest number. */
export async function joinChat(port: number): Promise<{ client: TestClient; guest: number }> {
  const client = await TestClient.connect(port);
  const welcome = (await client.readLine())!;
  const match = /^\* welcome, guest(\d+);/.exec(welcome);
  assert.ok(match, `unexpected welcome: ${welcome}`);
  return { client, guest: Number(match[1]) };
}
