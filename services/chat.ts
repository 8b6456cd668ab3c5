/**
 * `chat`: every line a client sends goes to every other client as
 * `<nick> text`. Commands: `/nick NAME`, `/who`, `/quit`. Joins, leaves and
 * renames are announced as lines that start with `* `.
 *
 * The service keeps no list of clients itself: names and membership live in
 * the server's hub, which is what lets clients served by different Workers
 * talk to each other.
 *
 * @module
 */
import type { LineService, Session } from "../lib/service.ts";

/** A nick: 1 to 32 letters, digits, `_` or `-`. */
const NICK = /^[\p{L}\p{N}_-]{1,32}$/u;

/** The names the server gives; no one may take one, or the client it is saved for would share it. */
const GUEST = /^guest\d+$/i;

/** Two nicks are the same name if they differ only in case (or in Unicode's compatible forms). */
function sameName(one: string, other: string): boolean {
  return one.normalize("NFKC").toLowerCase() === other.normalize("NFKC").toLowerCase();
}

/**
 * The text with its control characters made visible: `^M` for a bare CR,
 * `^[` for the ESC that starts a terminal escape, `^?` for DEL, U+FFFD for
 * the C1 controls. Relayed as they were, they would let one client move
 * another's cursor, clear its screen or overwrite a line with a forged one.
 * Tabs stay.
 *
 * @param text One line from a client.
 */
function neutralise(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (char) => {
    const code = char.charCodeAt(0);
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    return code === 0x7f ? "^?" : "\ufffd";
  });
}

/** Each session's current nick, kept per thread; the hub holds the shared copy. */
const nicks = new WeakMap<Session, string>();

function nickOf(session: Session): string {
  return nicks.get(session) ?? `guest${session.id}`;
}

async function handleCommand(session: Session, command: string, argument: string): Promise<void> {
  switch (command) {
    case "/nick": {
      if (!NICK.test(argument)) {
        await session.sendLine("ERR usage: /nick NAME (1-32 letters, digits, _ or -)");
        return;
      }
      if (GUEST.test(argument) && !sameName(argument, `guest${session.id}`)) {
        await session.sendLine(`ERR nick ${argument} is kept for a guest; choose another`);
        return;
      }
      // Compared by name alone: ids are only unique within one server, and
      // `who()` also lists the clients of other servers in the room.
      const taken = !sameName(argument, nickOf(session)) &&
        (await session.who()).some((peer) => sameName(peer.name, argument));
      if (taken) {
        await session.sendLine(`ERR nick ${argument} is taken`);
        return;
      }
      const old = nickOf(session);
      nicks.set(session, argument);
      session.setName(argument);
      session.broadcast(`* ${old} is now ${argument}\r\n`);
      await session.sendLine(`* you are now ${argument}`);
      return;
    }
    case "/who": {
      const peers = await session.who();
      const list = peers.map((peer) => `${peer.name} (${peer.peer})`).join(", ");
      await session.sendLine(`* online (${peers.length}): ${list}`);
      return;
    }
    case "/quit":
      await session.sendLine("* bye");
      session.close();
      return;
    default:
      await session.sendLine(`ERR unknown command ${command}; try /nick NAME, /who, /quit`);
  }
}

/** A chat room shared by every client of the server. */
export const chat: LineService = {
  name: "chat",
  description: "line chat for every client: /nick NAME, /who, /quit",
  framing: "lines",
  async open(session) {
    const nick = nickOf(session);
    session.broadcast(`* ${nick} joined\r\n`);
    await session.sendLine(`* welcome, ${nick}; commands: /nick NAME, /who, /quit`);
  },
  async line(session, line) {
    if (line.trim() === "") return;
    if (line.startsWith("/")) {
      const [command = "", ...rest] = line.trim().split(/\s+/);
      await handleCommand(session, command, rest.join(" "));
      return;
    }
    // Awaited: a sender that outruns the room waits for it, its reads paused.
    await session.broadcast(`<${nickOf(session)}> ${neutralise(line)}\r\n`);
  },
  departed(peer) {
    return `* ${peer.name} left\r\n`;
  },
  close(session) {
    session.broadcast(`* ${nickOf(session)} left\r\n`);
    nicks.delete(session);
  },
};
