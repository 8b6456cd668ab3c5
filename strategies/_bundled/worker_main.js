// Generated from strategies/worker_main.ts by `deno task bundle`. Do not edit; on a merge
// conflict, rebuild it. See tools/bundle_workers.ts for why it exists.
// lib/logger.ts
var RECORD_LEVEL = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error"
};
var backend = {
  write: () => {
  },
  isEnabledFor: () => false
};
function setLogBackend(next) {
  backend = next;
}
function logger(part) {
  const category = [
    "servidor",
    part
  ];
  return {
    debug: (message, properties = {}) => backend.write(category, "debug", message, properties),
    info: (message, properties = {}) => backend.write(category, "info", message, properties),
    warn: (message, properties = {}) => backend.write(category, "warning", message, properties),
    error: (message, properties = {}) => backend.write(category, "error", message, properties),
    isEnabledFor: (level) => backend.isEnabledFor(category, level)
  };
}

// lib/errors.ts
var log = logger("connection");
var ConnectionClosedError = class extends Error {
  constructor(peer) {
    super(`connection to ${peer} is closed`);
    this.name = "ConnectionClosedError";
  }
};
var DISCONNECT_CLASSES = [
  Deno.errors.BadResource,
  Deno.errors.BrokenPipe,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.NotConnected,
  Deno.errors.Interrupted,
  Deno.errors.UnexpectedEof,
  ConnectionClosedError
];
function isDisconnect(error) {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    if (DISCONNECT_CLASSES.some((errorClass) => current instanceof errorClass)) return true;
    current = current.cause;
  }
  return false;
}
function describeError(error) {
  const parts = [];
  for (let current = error, depth = 0; current !== void 0 && depth < 8; depth++) {
    if (current instanceof Error) {
      parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(": ");
}
var SettingError = class extends Error {
  setting;
  /**
   * Makes the error.
   *
   * @param setting The setting's name, e.g. `certFile`, `service`, `mode`.
   * @param message One sentence naming the thing and what is wrong with it.
   * @param options The cause, if any.
   */
  constructor(setting, message, options) {
    super(message, options), this.setting = setting;
    this.name = "SettingError";
  }
};
function errorStack(error) {
  return error instanceof Error ? error.stack ?? error.message : String(error);
}
function oneLine(message) {
  const lines = message.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const first = lines[0] ?? "";
  const causes = lines.filter((line) => /^\d+: /.test(line));
  const last = causes.at(-1)?.replace(/^\d+: /, "");
  return last === void 0 ? first : `${first.replace(/\.$/, "")}: ${last}`;
}

// lib/line_framer.ts
var LF = 10;
var CR = 13;
var KEPT_BUFFER = 16 * 1024;
var DEFAULT_MAX_LINE = 8192;
var LineTooLongError = class extends Error {
  /** The limit, in bytes, that was exceeded. */
  maxLine;
  /**
   * Lines completed in the same chunk before the long one: the client sent
   * them first, so they are still owed their answers.
   */
  linesBefore;
  /**
   * Makes the error for a line that passed `maxLine`.
   *
   * @param maxLine The limit, in bytes.
   * @param linesBefore Whole lines that came in the same read, ahead of the long one.
   */
  constructor(maxLine, linesBefore = []) {
    super(`line too long (max ${maxLine} bytes)`);
    this.name = "LineTooLongError";
    this.maxLine = maxLine;
    this.linesBefore = linesBefore;
  }
};
var LineFramer = class {
  #maxLine;
  #decoder = new TextDecoder("utf-8", {
    fatal: false,
    ignoreBOM: true
  });
  /** The unfinished line is `#pending.subarray(0, #pendingLength)`; the rest is room to grow. */
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  /**
   * Makes a framer with a limit on line length.
   *
   * @param maxLine The longest line accepted, in bytes, not counting its LF or CRLF.
   */
  constructor(maxLine = DEFAULT_MAX_LINE) {
    this.#maxLine = maxLine;
  }
  /** Bytes of an unfinished line held so far. */
  get buffered() {
    return this.#pendingLength;
  }
  /**
   * Adds bytes and returns the lines they complete, in order.
   *
   * @param chunk The bytes just read; they are copied where kept.
   * @returns Every line completed by `chunk`, without its terminator.
   * @throws {LineTooLongError} When a line exceeds the limit; it carries the
   *   lines completed before it.
   */
  push(chunk) {
    const lines = [];
    try {
      this.#split(chunk, lines);
    } catch (error) {
      if (error instanceof LineTooLongError) throw new LineTooLongError(this.#maxLine, lines);
      throw error;
    }
    return lines;
  }
  #split(chunk, lines) {
    let start = 0;
    let newline = chunk.indexOf(LF);
    if (newline !== -1 && this.#pendingLength > 0) {
      this.#checkLength(this.#pendingLength + newline);
      this.#hold(chunk.subarray(0, newline));
      lines.push(this.#decode(this.#takePending()));
      start = newline + 1;
      newline = chunk.indexOf(LF, start);
    }
    while (newline !== -1) {
      this.#checkLength(newline - start);
      lines.push(this.#decode(chunk.subarray(start, newline)));
      start = newline + 1;
      newline = chunk.indexOf(LF, start);
    }
    if (start < chunk.byteLength) {
      const rest = chunk.subarray(start);
      const unfinished = this.#pendingLength + rest.byteLength - (endsWithCR(rest) ? 1 : 0);
      if (unfinished > this.#maxLine) throw new LineTooLongError(this.#maxLine);
      this.#hold(rest);
    }
  }
  /** Appends to the unfinished line, doubling its buffer when it is full. */
  #hold(bytes) {
    const needed = this.#pendingLength + bytes.byteLength;
    if (needed > this.#pending.byteLength) {
      const size = Math.min(Math.max(needed, 2 * this.#pending.byteLength, 256), this.#maxLine + 2);
      const grown = new Uint8Array(Math.max(size, needed));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = needed;
  }
  /** The unfinished line, now finished; a large buffer is let go rather than kept per client. */
  #takePending() {
    const line = this.#pending.subarray(0, this.#pendingLength);
    this.#pendingLength = 0;
    if (this.#pending.byteLength > KEPT_BUFFER) this.#pending = new Uint8Array(0);
    return line;
  }
  /**
   * Ends the stream and returns the last line if it had no terminator.
   *
   * @returns The unterminated last line, or `undefined` when there is none.
   */
  finish() {
    if (this.#pendingLength === 0) return void 0;
    return this.#decode(this.#takePending());
  }
  /** `length` may include a line's CR, which the limit does not count. */
  #checkLength(length) {
    if (length > this.#maxLine + 1) throw new LineTooLongError(this.#maxLine);
  }
  #decode(line) {
    const body = endsWithCR(line) ? line.subarray(0, line.byteLength - 1) : line;
    if (body.byteLength > this.#maxLine) throw new LineTooLongError(this.#maxLine);
    return this.#decoder.decode(body);
  }
};
function endsWithCR(bytes) {
  return bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === CR;
}

// lib/service_driver.ts
var YIELD_AFTER_MS = 10;
var ServiceDriver = class {
  #service;
  /** Made for a line service alone: a byte service has nothing to frame. */
  #framer;
  #onRequest;
  #opening;
  /**
   * @param service What to run.
   * @param maxLine The longest line a line service accepts.
   * @param onRequest Told how long each request took, if the server keeps statistics.
   */
  constructor(service2, maxLine, onRequest) {
    this.#service = service2;
    this.#framer = service2.framing === "lines" ? new LineFramer(maxLine) : void 0;
    this.#onRequest = onRequest;
  }
  /**
   * Calls the service's `open()` without waiting for it; see {@link ServiceHooks.open}.
   *
   * @param onFailure Told if `open()` throws; input errors reject `input()` instead.
   *   Kept only while `open()` runs, not for the client's whole stay.
   */
  start(onFailure) {
    if (!this.#service.open) return;
    this.#opening = (async () => {
      try {
        await this.#service.open?.(this.session);
      } catch (error) {
        onFailure(error);
      }
    })();
  }
  /**
   * Delivers bytes from the client and resolves once the service has handled
   * them, so a caller that awaits it reads no faster than the service works.
   * Each request is timed from its delivery to the service's handler
   * resolving: a line for line services, the whole chunk for byte services.
   *
   * @param chunk Only read before the promise settles.
   */
  input(chunk) {
    const service2 = this.#service;
    if (service2.framing === "lines") return this.#inputLines(service2, chunk);
    if (!this.#onRequest) return service2.data(this.session, chunk);
    return this.#timedData(service2, chunk, this.#onRequest);
  }
  async #timedData(service2, chunk, onRequest) {
    const started = performance.now();
    await service2.data(this.session, chunk);
    onRequest((performance.now() - started) / 1e3);
  }
  async #inputLines(service2, chunk) {
    let lines;
    let tooLong;
    try {
      lines = this.#framer.push(chunk);
    } catch (error) {
      if (!(error instanceof LineTooLongError)) throw error;
      lines = error.linesBefore;
      tooLong = error;
    }
    const session2 = this.session;
    const onRequest = this.#onRequest;
    let turnStarted = performance.now();
    for (const line of lines) {
      if (performance.now() - turnStarted >= YIELD_AFTER_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turnStarted = performance.now();
      }
      if (session2.signal.aborted) return;
      const started = onRequest ? performance.now() : 0;
      await service2.line(session2, line);
      onRequest?.((performance.now() - started) / 1e3);
    }
    if (tooLong && !session2.signal.aborted) await this.#refuse(session2, tooLong);
  }
  /**
   * The client finished sending: a last line without a newline is still
   * answered, then the service's `end()` runs.
   */
  async endInput() {
    const service2 = this.#service;
    const session2 = this.session;
    if (session2.signal.aborted) return;
    if (service2.framing === "lines") {
      const last = this.#framer.finish();
      if (last !== void 0) {
        const started = performance.now();
        await service2.line(session2, last);
        this.#onRequest?.((performance.now() - started) / 1e3);
      }
    }
    await service2.end?.(session2);
  }
  /** Waits for `open()` to end, then calls the service's `close()`. */
  async finish() {
    if (this.#opening) await this.#opening;
    await this.#service.close?.(this.session);
  }
  async #refuse(session2, error) {
    try {
      await session2.sendLine(`ERR ${error.message}`);
    } finally {
      session2.close();
    }
  }
};
var SessionDriver = class extends ServiceDriver {
  #session;
  /**
   * @param service What to run.
   * @param session The client it talks to.
   * @param maxLine The longest line a line service accepts.
   * @param onRequest Told how long each request took, if the server keeps statistics.
   */
  constructor(service2, session2, maxLine, onRequest) {
    super(service2, maxLine, onRequest);
    this.#session = session2;
  }
  get session() {
    return this.#session;
  }
};

// lib/chat/credit.ts
var CREDIT_WINDOW = 32 * 1024;
var ACK_EVERY = CREDIT_WINDOW / 4;
var Credit = class {
  #outstanding = 0;
  #opened;
  /** Whether the window is full: the sender should wait for {@link whenOpen}. */
  get exhausted() {
    return this.#outstanding >= CREDIT_WINDOW;
  }
  /** Bytes sent and not yet acknowledged. */
  get outstanding() {
    return this.#outstanding;
  }
  /**
   * Counts bytes sent.
   *
   * @param bytes How many.
   */
  spend(bytes) {
    this.#outstanding += bytes;
  }
  /**
   * Counts bytes the other side acknowledged, and wakes a waiting sender once there is room.
   *
   * @param bytes How many.
   */
  grant(bytes) {
    this.#outstanding = Math.max(0, this.#outstanding - bytes);
    if (!this.exhausted) this.#open();
  }
  /** Writes off everything outstanding: the other side is gone, or will never answer. */
  forgive() {
    this.#outstanding = 0;
    this.#open();
  }
  /** Resolves once the window has room; at once if it has now. */
  whenOpen() {
    if (!this.exhausted) return Promise.resolve();
    return (this.#opened ??= Promise.withResolvers()).promise;
  }
  #open() {
    this.#opened?.resolve();
    this.#opened = void 0;
  }
};

// lib/service.ts
function serviceProblems(value) {
  if (typeof value !== "object" || value === null) return [
    "it is not an object"
  ];
  const candidate = value;
  const problems = [];
  if (typeof candidate.name !== "string" || candidate.name === "") {
    problems.push("a string `name`");
  }
  if (typeof candidate.description !== "string") problems.push("a string `description`");
  if (candidate.framing === "bytes") {
    if (typeof candidate.data !== "function") problems.push("a `data(session, chunk)` function");
  } else if (candidate.framing === "lines") {
    if (typeof candidate.line !== "function") problems.push("a `line(session, line)` function");
  } else {
    problems.push('`framing` set to "bytes" or "lines"');
  }
  for (const hook of [
    "open",
    "end",
    "close"
  ]) {
    if (candidate[hook] !== void 0 && typeof candidate[hook] !== "function") {
      problems.push(`\`${hook}\` to be a function when present`);
    }
  }
  return problems;
}

// services/exec.ts
var log2 = logger("exec");
var KILL_GRACE_MS = 2e3;
function ucspiEnvironment(session2) {
  const { remoteAddr, localAddr } = session2;
  if (remoteAddr.transport !== "tcp" || localAddr.transport !== "tcp") return {
    PROTO: "UNIX"
  };
  return {
    PROTO: "TCP",
    TCPREMOTEIP: remoteAddr.hostname,
    TCPREMOTEPORT: String(remoteAddr.port),
    TCPLOCALIP: localAddr.hostname,
    TCPLOCALPORT: String(localAddr.port)
  };
}
function programProblem(command) {
  const readable = (path) => Deno.permissions.querySync({
    name: "read",
    path
  }).state === "granted";
  const executable = (path) => {
    if (!readable(path)) return void 0;
    try {
      const info = Deno.statSync(path);
      return info.isFile && (info.mode === null || (info.mode & 73) !== 0);
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    return executable(command) === false ? `${command} is not an executable file` : void 0;
  }
  if (Deno.permissions.querySync({
    name: "env",
    variable: "PATH"
  }).state !== "granted") {
    return void 0;
  }
  const directories = (Deno.env.get("PATH") ?? "").split(":").map((dir) => dir || ".");
  let unknown = false;
  for (const directory of directories) {
    const found = executable(`${directory}/${command}`);
    if (found) return void 0;
    if (found === void 0) unknown = true;
  }
  return unknown ? void 0 : `no program ${command} on PATH`;
}
function createExecService(command, args = []) {
  const running = /* @__PURE__ */ new Map();
  const commandLine = [
    command,
    ...args
  ].join(" ");
  return {
    name: "exec",
    description: `runs \`${commandLine}\` for each client, joined to its connection`,
    framing: "bytes",
    async open(session2) {
      let child;
      try {
        child = new Deno.Command(command, {
          args: [
            ...args
          ],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
          env: ucspiEnvironment(session2)
        }).spawn();
      } catch (error) {
        throw new Error(`cannot run ${command}`, {
          cause: error
        });
      }
      running.set(session2, {
        stdin: child.stdin.getWriter()
      });
      log2.debug("{peer} started {command} pid={pid}", {
        peer: session2.peer,
        command: commandLine,
        pid: child.pid
      });
      const output = child.stdout.getReader();
      const errors = child.stderr.getReader();
      let exited = false;
      let killTimer;
      const stop = () => {
        output.cancel().catch(() => {
        });
        errors.cancel().catch(() => {
        });
        if (exited) return;
        signalChild(child, "SIGTERM");
        killTimer = setTimeout(() => signalChild(child, "SIGKILL"), KILL_GRACE_MS);
      };
      session2.signal.addEventListener("abort", stop, {
        once: true
      });
      const status = child.status.then((status2) => {
        exited = true;
        clearTimeout(killTimer);
        return status2;
      });
      try {
        const logging = logStderr(errors, session2.peer, command);
        await sendOutput(output, session2);
        await logging;
        const { code, signal } = await status;
        log2.debug("{peer} {command} exited code={code} signal={signal}", {
          peer: session2.peer,
          command: commandLine,
          code,
          signal
        });
      } finally {
        session2.signal.removeEventListener("abort", stop);
        if (!exited) stop();
        await status;
        running.get(session2)?.stdin.abort().catch(() => {
        });
        running.delete(session2);
        session2.close();
      }
    },
    async data(session2, chunk) {
      const stdin = running.get(session2)?.stdin;
      if (!stdin) return;
      try {
        await stdin.write(chunk);
      } catch (error) {
        if (!isDisconnect(error)) throw error;
      }
    },
    async end(session2) {
      const stdin = running.get(session2)?.stdin;
      if (stdin) await stdin.close().catch(() => {
      });
      await untilAborted(session2.signal);
    }
  };
}
async function sendOutput(output, session2) {
  try {
    for (let read = await output.read(); !read.done; read = await output.read()) {
      await session2.send(read.value);
    }
  } catch (error) {
    if (!isDisconnect(error)) throw error;
  } finally {
    output.releaseLock();
  }
}
async function logStderr(errors, peer, command) {
  const decoder2 = new TextDecoder();
  let pending = "";
  const emit = (line) => log2.info("{peer} {command}: {line}", {
    peer,
    command,
    line
  });
  try {
    for (let read = await errors.read(); !read.done; read = await errors.read()) {
      pending += decoder2.decode(read.value, {
        stream: true
      });
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) emit(line);
    }
  } finally {
    errors.releaseLock();
  }
  pending += decoder2.decode();
  if (pending !== "") emit(pending);
}
function signalChild(child, signal) {
  try {
    child.kill(signal);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}
function untilAborted(signal) {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), {
    once: true
  }));
}

// services/chargen.ts
var PRINTABLE = Array.from({
  length: 95
}, (_, i) => String.fromCharCode(32 + i)).join("");
var LINE_WIDTH = 72;
var LINES_PER_SEND = 95;
function chargenLine(index) {
  const start = index % PRINTABLE.length;
  const doubled = PRINTABLE + PRINTABLE;
  return `${doubled.slice(start, start + LINE_WIDTH)}\r
`;
}
var CYCLE = new TextEncoder().encode(Array.from({
  length: LINES_PER_SEND
}, (_, i) => chargenLine(i)).join(""));
var chargen = {
  name: "chargen",
  description: "RFC 864: streams 72-character lines for as long as the client reads",
  framing: "bytes",
  async open(session2) {
    while (!session2.signal.aborted) await session2.send(CYCLE);
  },
  data: () => {
  }
};

// services/chat.ts
var NICK = /^[\p{L}\p{N}_-]{1,32}$/u;
var GUEST = /^guest\d+$/i;
function sameName(one, other) {
  return one.normalize("NFKC").toLowerCase() === other.normalize("NFKC").toLowerCase();
}
function neutralise(text) {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (char) => {
    const code = char.charCodeAt(0);
    if (code < 32) return `^${String.fromCharCode(code + 64)}`;
    return code === 127 ? "^?" : "\uFFFD";
  });
}
var nicks = /* @__PURE__ */ new WeakMap();
function nickOf(session2) {
  return nicks.get(session2) ?? `guest${session2.id}`;
}
async function handleCommand(session2, command, argument) {
  switch (command) {
    case "/nick": {
      if (!NICK.test(argument)) {
        await session2.sendLine("ERR usage: /nick NAME (1-32 letters, digits, _ or -)");
        return;
      }
      if (GUEST.test(argument) && !sameName(argument, `guest${session2.id}`)) {
        await session2.sendLine(`ERR nick ${argument} is kept for a guest; choose another`);
        return;
      }
      const taken = !sameName(argument, nickOf(session2)) && (await session2.who()).some((peer) => sameName(peer.name, argument));
      if (taken) {
        await session2.sendLine(`ERR nick ${argument} is taken`);
        return;
      }
      const old = nickOf(session2);
      nicks.set(session2, argument);
      session2.setName(argument);
      session2.broadcast(`* ${old} is now ${argument}\r
`);
      await session2.sendLine(`* you are now ${argument}`);
      return;
    }
    case "/who": {
      const peers = await session2.who();
      const list = peers.map((peer) => `${peer.name} (${peer.peer})`).join(", ");
      await session2.sendLine(`* online (${peers.length}): ${list}`);
      return;
    }
    case "/quit":
      await session2.sendLine("* bye");
      session2.close();
      return;
    default:
      await session2.sendLine(`ERR unknown command ${command}; try /nick NAME, /who, /quit`);
  }
}
var chat = {
  name: "chat",
  description: "line chat for every client: /nick NAME, /who, /quit",
  framing: "lines",
  async open(session2) {
    const nick = nickOf(session2);
    session2.broadcast(`* ${nick} joined\r
`);
    await session2.sendLine(`* welcome, ${nick}; commands: /nick NAME, /who, /quit`);
  },
  async line(session2, line) {
    if (line.trim() === "") return;
    if (line.startsWith("/")) {
      const [command = "", ...rest] = line.trim().split(/\s+/);
      await handleCommand(session2, command, rest.join(" "));
      return;
    }
    await session2.broadcast(`<${nickOf(session2)}> ${neutralise(line)}\r
`);
  },
  departed(peer) {
    return `* ${peer.name} left\r
`;
  },
  close(session2) {
    session2.broadcast(`* ${nickOf(session2)} left\r
`);
    nicks.delete(session2);
  }
};

// services/compute.ts
var createHash;
async function loadHashing() {
  createHash ??= (await import("node:crypto")).createHash;
}
var MAX_ROUNDS = 1e6;
var USAGE = `ERR usage: sha256 ROUNDS TEXT (ROUNDS from 1 to ${MAX_ROUNDS})`;
function sha256Rounds(rounds, text) {
  if (!createHash) throw new Error("call loadHashing() before sha256Rounds()");
  let digest = createHash("sha256").update(text, "utf8").digest("hex");
  for (let round = 1; round < rounds; round++) {
    digest = createHash("sha256").update(digest, "latin1").digest("hex");
  }
  return digest;
}
function parseComputeRequest(line) {
  const match = /^sha256 +(\d+) (.*)$/.exec(line);
  if (!match) return USAGE;
  const rounds = Number(match[1]);
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) return USAGE;
  return {
    rounds,
    text: match[2] ?? ""
  };
}
var compute = {
  name: "compute",
  description: "CPU-bound: `sha256 ROUNDS TEXT` answers TEXT hashed ROUNDS times",
  framing: "lines",
  async line(session2, line) {
    const request = parseComputeRequest(line);
    if (typeof request === "string") return session2.sendLine(request);
    await loadHashing();
    return session2.sendLine(sha256Rounds(request.rounds, request.text));
  }
};

// services/daytime.ts
var WEEKDAYS = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday"
];
var MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December"
];
function formatDaytime(date) {
  const time = date.toISOString().slice(11, 19);
  return `${WEEKDAYS[date.getUTCDay()]}, ${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()} ${time}-UTC`;
}
var daytime = {
  name: "daytime",
  description: "RFC 867: sends the date and time as one line, then closes",
  framing: "bytes",
  async open(session2) {
    await session2.sendLine(formatDaytime(/* @__PURE__ */ new Date()));
    session2.close();
  },
  data: () => {
  }
};

// services/discard.ts
var discard = {
  name: "discard",
  description: "RFC 863: reads and throws away every byte",
  framing: "bytes",
  data: () => {
  }
};

// services/echo.ts
var echo = {
  name: "echo",
  description: "RFC 862: sends back every byte it receives",
  framing: "bytes",
  handlersOnly: true,
  data: (session2, chunk) => session2.send(chunk)
};

// services/reverse.ts
function reverseText(text) {
  return Array.from(text).reverse().join("");
}
var reverse = {
  name: "reverse",
  description: "answers each line with its characters reversed",
  framing: "lines",
  line: (session2, line) => session2.sendLine(reverseText(line))
};

// services/registry.ts
var SERVICES = Object.freeze({
  echo,
  discard,
  daytime,
  chargen,
  reverse,
  chat,
  compute
});
var SERVICE_FACTORIES = Object.freeze({
  exec: (args) => {
    const [command, ...rest] = args;
    if (command === void 0) {
      throw new UnknownServiceError("exec needs a command to run, e.g. cat");
    }
    if (Deno.permissions.querySync({
      name: "run",
      command
    }).state !== "granted") {
      throw new UnknownServiceError(`exec needs permission to run ${command}: run deno with --allow-run`);
    }
    const problem = programProblem(command);
    if (problem !== void 0) throw new UnknownServiceError(`exec: ${problem}`);
    return createExecService(command, rest);
  }
});
var SERVICE_NAMES = [
  ...Object.keys(SERVICES),
  ...Object.keys(SERVICE_FACTORIES)
];
var UnknownServiceError = class extends SettingError {
  /**
   * Makes the error.
   *
   * @param message One sentence naming the service and what is wrong.
   */
  constructor(message) {
    super("service", message);
    this.name = "UnknownServiceError";
  }
};
var HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
async function loadService(specifier, args = []) {
  const factory = Object.hasOwn(SERVICE_FACTORIES, specifier) ? SERVICE_FACTORIES[specifier] : void 0;
  if (factory) return factory(args);
  if (args.length > 0) {
    throw new UnknownServiceError(`${specifier} takes no arguments; only ${Object.keys(SERVICE_FACTORIES).join(", ")} does`);
  }
  const builtIn = Object.hasOwn(SERVICES, specifier) ? SERVICES[specifier] : void 0;
  if (builtIn) return builtIn;
  if (!HAS_SCHEME.test(specifier)) {
    throw new UnknownServiceError(`unknown service "${specifier}"; known services: ${SERVICE_NAMES.join(", ")}, or the path of your own module`);
  }
  requireReadAccess(new URL(specifier));
  return await importService(specifier, specifier);
}
function requireReadAccess(url) {
  if (url.protocol === "file:" && Deno.permissions.querySync({
    name: "read",
    path: url
  }).state !== "granted") {
    throw new UnknownServiceError(`loading the service module ${url.pathname} needs read access: run deno with --allow-read`);
  }
}
async function importService(url, shownAs, explain = (message) => message) {
  let module;
  try {
    module = await import(url);
  } catch (error) {
    throw new UnknownServiceError(`cannot load service module ${shownAs}: ${oneLine(explain(error instanceof Error ? error.message : String(error)))}`);
  }
  if (module.default === void 0) {
    const named = Object.keys(module).filter((name) => serviceProblems(module[name]).length === 0);
    throw new UnknownServiceError(`${shownAs} has no default export: end it with \`export default ${named[0] ?? "yourService"};\``);
  }
  const problems = serviceProblems(module.default);
  if (problems.length > 0) {
    throw new UnknownServiceError(`${shownAs} does not export a valid service as default: it needs ${problems.join(", ")}`);
  }
  return module.default;
}

// strategies/worker_protocol.ts
var RING_CAPACITY = 64 * 1024;
var TIMINGS_FLUSH_MS = 250;
function failedMessage(error) {
  return {
    type: "failed",
    reason: describeError(error),
    stack: errorStack(error),
    disconnect: isDisconnect(error)
  };
}

// strategies/workers/control.ts
var OPENED = 0;
var OPEN_WAITING = 1;
var FINISHED = 16;
var OPEN_LENGTH = 32;
var HEADER_WORDS = 64;
var HEADER_BYTES = HEADER_WORDS * Int32Array.BYTES_PER_ELEMENT;
var OPEN_TEXT_BYTES = 4096;
var encoder = new TextEncoder();
var decoder = new TextDecoder();
var WorkerControl = class _WorkerControl {
  /** The shared memory; post it to the Worker and wrap it there. */
  buffer;
  #words;
  #text;
  /** Allocates a block. */
  static create() {
    return new _WorkerControl(new SharedArrayBuffer(HEADER_BYTES + OPEN_TEXT_BYTES));
  }
  /**
   * Wraps a block that {@link WorkerControl.create} allocated, on either thread.
   *
   * @param buffer The block's shared memory.
   */
  constructor(buffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer, 0, HEADER_WORDS);
    this.#text = new Uint8Array(buffer, HEADER_BYTES);
  }
  /**
   * The main thread's side: opens the Worker's next client, and wakes the
   * Worker if it waits. Call it only for a Worker that finished its last
   * client through this block, which waits on it for the next.
   *
   * @param message The open, which must survive `JSON.stringify`.
   * @returns Whether it went through the block; when it did not (too long),
   *   the Worker was told to expect it by message, which the caller posts.
   */
  open(message) {
    const text = encoder.encode(JSON.stringify(message));
    const fits = text.byteLength <= this.#text.byteLength;
    if (fits) this.#text.set(text);
    Atomics.store(this.#words, OPEN_LENGTH, fits ? text.byteLength : 0);
    Atomics.add(this.#words, OPENED, 1);
    if (Atomics.load(this.#words, OPEN_WAITING) === 1) Atomics.notify(this.#words, OPENED);
    return fits;
  }
  /** The main thread's side: clients the Worker has finished through the block. */
  get finished() {
    return Atomics.load(this.#words, FINISHED);
  }
  /** The Worker's side: opens posted so far; it changes when a client is opened. */
  get opened() {
    return Atomics.load(this.#words, OPENED);
  }
  /**
   * The Worker's side: the open the main thread wrote, or `undefined` when it
   * comes by message. Read it once {@link opened} has changed.
   */
  readOpen() {
    const length = Atomics.load(this.#words, OPEN_LENGTH);
    if (length === 0) return void 0;
    return JSON.parse(decoder.decode(this.#text.slice(0, length)));
  }
  /**
   * The Worker's side: blocks this thread until {@link opened} is no longer
   * `seen`, for at most `timeoutMs`. Only for a thread with nothing else to
   * run meanwhile: its event loop stands still.
   *
   * @returns Whether a client was opened.
   */
  waitForOpenBlocking(seen, timeoutMs) {
    Atomics.store(this.#words, OPEN_WAITING, 1);
    try {
      Atomics.wait(this.#words, OPENED, seen, timeoutMs);
    } finally {
      Atomics.store(this.#words, OPEN_WAITING, 0);
    }
    return this.opened !== seen;
  }
  /**
   * The Worker's side: resolves once {@link opened} is no longer `seen`,
   * leaving the event loop running meanwhile.
   */
  async waitForOpen(seen) {
    Atomics.store(this.#words, OPEN_WAITING, 1);
    try {
      const result = Atomics.waitAsync(this.#words, OPENED, seen);
      if (result.async) await result.value;
    } finally {
      Atomics.store(this.#words, OPEN_WAITING, 0);
    }
  }
  /**
   * The Worker's side: its client is finished; the caller rings the doorbell
   * after, so that the main thread looks.
   */
  finish() {
    Atomics.add(this.#words, FINISHED, 1);
  }
};

// strategies/workers/doorbell.ts
var RUNG = 0;
var LISTENING = 1;
var Doorbell = class _Doorbell {
  /** The shared memory; post it to each Worker and wrap it there. */
  buffer;
  #words;
  /** Allocates a bell. */
  static create() {
    return new _Doorbell(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  }
  /**
   * Wraps a bell that {@link Doorbell.create} allocated, on any thread.
   *
   * @param buffer The bell's shared memory.
   */
  constructor(buffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer);
  }
  /** The count so far; pass it to {@link wait} after looking at what the bell guards. */
  get rung() {
    return Atomics.load(this.#words, RUNG);
  }
  /** Rings: wakes the waiter, if one waits. */
  ring() {
    Atomics.add(this.#words, RUNG, 1);
    if (Atomics.load(this.#words, LISTENING) === 1) Atomics.notify(this.#words, RUNG);
  }
  /**
   * Resolves once the bell has rung since the count was `seen`, without
   * blocking this thread's event loop. One thread waits at a time.
   *
   * @param seen {@link rung} as it was before the caller looked.
   */
  async wait(seen) {
    Atomics.store(this.#words, LISTENING, 1);
    try {
      const result = Atomics.waitAsync(this.#words, RUNG, seen);
      if (result.async) await result.value;
    } finally {
      Atomics.store(this.#words, LISTENING, 0);
    }
  }
};

// strategies/workers/ring.ts
var WRITTEN = 0;
var RELEASED = 16;
var STATE = 32;
var DATA_EVENTS = 48;
var SPACE_EVENTS = 64;
var DATA_WAITERS = DATA_EVENTS + 1;
var SPACE_WAITERS = SPACE_EVENTS + 1;
var HEADER_WORDS2 = 80;
var HEADER_BYTES2 = HEADER_WORDS2 * Int32Array.BYTES_PER_ELEMENT;
var OPEN = 0;
var ENDED = 1;
var ABORTED = 2;
var ByteRing = class _ByteRing {
  /** The shared memory; post it to the other thread and wrap it there. */
  buffer;
  /** How many bytes the ring holds. */
  capacity;
  #header;
  #data;
  #onWrite;
  /** The reader's own cursor: bytes read, released or not, modulo 2³². */
  #readTo;
  /**
   * Allocates a ring.
   *
   * @param capacity Bytes it holds: a power of two, at least 1.
   * @returns The ring, open, with no bytes in it.
   */
  static create(capacity) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 30 || (capacity & capacity - 1) !== 0) {
      throw new RangeError(`a ring's capacity must be a power of two up to 2\xB3\u2070, not ${capacity}`);
    }
    return new _ByteRing(new SharedArrayBuffer(HEADER_BYTES2 + capacity));
  }
  /**
   * Wraps a ring that {@link ByteRing.create} allocated, on either thread.
   * Each side wraps it once: the reader's cursor lives in its wrapper.
   *
   * @param buffer The ring's shared memory.
   * @param onWrite For a writer: called after each write, e.g. to ring a
   *   doorbell that a reader of many rings waits on.
   */
  constructor(buffer, onWrite) {
    this.buffer = buffer;
    this.#onWrite = onWrite;
    this.capacity = buffer.byteLength - HEADER_BYTES2;
    this.#header = new Int32Array(buffer, 0, HEADER_WORDS2);
    this.#data = new Uint8Array(buffer, HEADER_BYTES2, this.capacity);
    this.#readTo = Atomics.load(this.#header, RELEASED);
  }
  /**
   * Empties the ring and opens it again, for the next writer and reader: a
   * Worker keeps its two rings for every client it serves, because a fresh
   * `SharedArrayBuffer` per client costs an allocation, a zeroing and, worse,
   * memory outside both threads' heaps that neither garbage collector hurries
   * to give back. Call it only while neither side uses the ring (between two
   * clients); each side wraps the buffer anew afterwards. What the last
   * client left in the ring stays in memory but cannot be read: the counters
   * say the ring is empty.
   */
  reset() {
    Atomics.store(this.#header, WRITTEN, 0);
    Atomics.store(this.#header, RELEASED, 0);
    Atomics.store(this.#header, STATE, OPEN);
    this.#readTo = 0;
  }
  /** Whether the ring is open, ended by its writer, or aborted by either side. */
  get state() {
    const state = Atomics.load(this.#header, STATE);
    return state === OPEN ? "open" : state === ENDED ? "ended" : "aborted";
  }
  /** Bytes written and not yet released: what the writer sees as taken. */
  get used() {
    return Atomics.load(this.#header, WRITTEN) - Atomics.load(this.#header, RELEASED) >>> 0;
  }
  /** Bytes the writer may write now. */
  get free() {
    return this.capacity - this.used;
  }
  /** Bytes the reader has not read yet. */
  get available() {
    return Atomics.load(this.#header, WRITTEN) - this.#readTo >>> 0;
  }
  /**
   * A number that changes whenever the reader releases bytes: how the writer
   * sees that the reader is making progress without waiting for it.
   */
  get releasedCount() {
    return Atomics.load(this.#header, RELEASED);
  }
  /**
   * Copies as many of `bytes` as fit into the ring and wakes the reader.
   *
   * @param bytes What to write; not kept.
   * @returns How many bytes were written: less than all when the ring filled,
   *   and none once it has ended or been aborted.
   */
  write(bytes) {
    if (Atomics.load(this.#header, STATE) !== OPEN) return 0;
    const written = Atomics.load(this.#header, WRITTEN);
    const n = Math.min(bytes.byteLength, this.capacity - (written - Atomics.load(this.#header, RELEASED) >>> 0));
    if (n === 0) return 0;
    const at = written & this.capacity - 1;
    const first = Math.min(n, this.capacity - at);
    this.#data.set(bytes.subarray(0, first), at);
    if (first < n) this.#data.set(bytes.subarray(first, n), 0);
    Atomics.store(this.#header, WRITTEN, written + n | 0);
    this.#signal(DATA_EVENTS, DATA_WAITERS);
    this.#onWrite?.();
    return n;
  }
  /**
   * Copies out what is available, up to `max` bytes, and moves the reader's
   * cursor past it. Their space stays taken until {@link release}.
   *
   * @param max The most bytes to take.
   * @returns A fresh buffer, or `undefined` when nothing is available or
   *   the ring was aborted.
   */
  read(max = Infinity) {
    if (Atomics.load(this.#header, STATE) === ABORTED) return void 0;
    const n = Math.min(this.available, max);
    if (n === 0) return void 0;
    const at = this.#readTo & this.capacity - 1;
    const first = Math.min(n, this.capacity - at);
    const bytes = new Uint8Array(n);
    bytes.set(this.#data.subarray(at, at + first));
    if (first < n) bytes.set(this.#data.subarray(0, n - first), first);
    this.#readTo = this.#readTo + n | 0;
    return bytes;
  }
  /**
   * Like {@link read}, but without a copy: a view of the ring's own memory,
   * as many bytes as lie together before the ring wraps around (call again
   * for the rest). The view stays valid until its bytes are released, since
   * until then the writer cannot reuse their space.
   *
   * @param max The most bytes to take.
   * @returns A view into shared memory, or `undefined` when nothing is
   *   available or the ring was aborted.
   */
  readInPlace(max = Infinity) {
    if (Atomics.load(this.#header, STATE) === ABORTED) return void 0;
    const at = this.#readTo & this.capacity - 1;
    const n = Math.min(this.available, max, this.capacity - at);
    if (n === 0) return void 0;
    this.#readTo = this.#readTo + n | 0;
    return this.#data.subarray(at, at + n);
  }
  /**
   * Gives the space of `n` bytes read earlier back to the writer, and wakes it.
   *
   * @param n At most what was read and not yet released.
   */
  release(n) {
    if (n === 0) return;
    Atomics.add(this.#header, RELEASED, n);
    this.#signal(SPACE_EVENTS, SPACE_WAITERS);
  }
  /** The writer is done: the reader gets what is left, then the end. */
  end() {
    Atomics.compareExchange(this.#header, STATE, OPEN, ENDED);
    this.#wakeBoth();
  }
  /** Stops both sides now: waits return, writes write nothing, what is inside is dropped. */
  abort() {
    Atomics.store(this.#header, STATE, ABORTED);
    this.#wakeBoth();
  }
  /**
   * Resolves once there is something to read, the writer has ended, or the
   * ring was aborted, without blocking this thread's event loop.
   */
  async waitForData() {
    const events = Atomics.load(this.#header, DATA_EVENTS);
    if (this.available > 0 || Atomics.load(this.#header, STATE) !== OPEN) return;
    await this.#waitAsync(DATA_EVENTS, DATA_WAITERS, events);
  }
  /**
   * Like {@link waitForData}, but blocks the thread, for at most `timeoutMs`.
   * Only for a thread with nothing else to do meanwhile: its event loop
   * stands still, and `Atomics.wait` is refused on the main thread of a
   * browser (Deno allows it).
   *
   * @param timeoutMs The longest wait.
   */
  waitForDataBlocking(timeoutMs) {
    const events = Atomics.load(this.#header, DATA_EVENTS);
    if (this.available > 0 || Atomics.load(this.#header, STATE) !== OPEN) return;
    Atomics.add(this.#header, DATA_WAITERS, 1);
    try {
      Atomics.wait(this.#header, DATA_EVENTS, events, timeoutMs);
    } finally {
      Atomics.sub(this.#header, DATA_WAITERS, 1);
    }
  }
  /**
   * Resolves once the reader has released space, or either side has ended
   * or aborted the ring, without blocking this thread's event loop.
   */
  async waitForSpace() {
    const events = Atomics.load(this.#header, SPACE_EVENTS);
    if (this.free > 0 || Atomics.load(this.#header, STATE) !== OPEN) return;
    await this.#waitAsync(SPACE_EVENTS, SPACE_WAITERS, events);
  }
  /** Waits, counted among the word's waiters, until the word is no longer `seen`. */
  async #waitAsync(word, waiters, seen) {
    Atomics.add(this.#header, waiters, 1);
    try {
      const result = Atomics.waitAsync(this.#header, word, seen);
      if (result.async) await result.value;
    } finally {
      Atomics.sub(this.#header, waiters, 1);
    }
  }
  /** Changes an events word, and wakes its waiters if any wait. */
  #signal(word, waiters) {
    Atomics.add(this.#header, word, 1);
    if (Atomics.load(this.#header, waiters) > 0) Atomics.notify(this.#header, word);
  }
  /** Wakes whoever waits on either side, so that each looks at the state again. */
  #wakeBoth() {
    this.#signal(DATA_EVENTS, DATA_WAITERS);
    this.#signal(SPACE_EVENTS, SPACE_WAITERS);
  }
};

// strategies/worker_main.ts
var encoder2 = new TextEncoder();
var toMain = self;
var postedSinceOpen = false;
function post(message, transfer = []) {
  postedSinceOpen = true;
  toMain.postMessage(message, transfer);
}
var SENT = Promise.resolve();
var SESSION_ENDED = new DOMException("The session ended.", "AbortError");
var RemoteSession = class {
  id;
  peer;
  remoteAddr;
  localAddr;
  #output;
  #closing = new AbortController();
  /** Sends that wait for room in the ring, and the messages and signals that must follow them. */
  #outbox = [];
  #draining = false;
  #pendingWho = /* @__PURE__ */ new Map();
  #nextRequest = 0;
  /** Broadcasts the main thread has not acknowledged; a full window makes the sender wait. */
  #credit = new Credit();
  constructor(opening, output) {
    this.id = opening.id;
    this.peer = opening.peer;
    this.remoteAddr = opening.remoteAddr;
    this.localAddr = opening.localAddr;
    this.#output = output;
  }
  get signal() {
    return this.#closing.signal;
  }
  send(data) {
    if (this.signal.aborted) return Promise.reject(new ConnectionClosedError(this.peer));
    const bytes = typeof data === "string" ? encoder2.encode(data) : data;
    const n = this.#outbox.length === 0 ? this.#output.write(bytes) : 0;
    if (n === bytes.byteLength) return SENT;
    const rest = bytes.slice(n);
    return new Promise((resolve, reject) => {
      this.#outbox.push({
        bytes: rest,
        resolve,
        reject
      });
      void this.#drain();
    });
  }
  /** Whether sends wait for room in the ring. */
  get sendsWaiting() {
    return this.#outbox.length > 0;
  }
  sendLine(text) {
    return this.send(`${text}\r
`);
  }
  broadcast(data) {
    const bytes = typeof data === "string" ? encoder2.encode(data) : data.slice();
    this.#credit.spend(bytes.byteLength);
    post({
      type: "broadcast",
      bytes
    }, [
      bytes.buffer
    ]);
    return this.#credit.exhausted ? this.#credit.whenOpen() : void 0;
  }
  /** The main thread acknowledged broadcasts. */
  credit(bytes) {
    this.#credit.grant(bytes);
  }
  setName(name) {
    post({
      type: "name",
      name
    });
  }
  who() {
    const request = ++this.#nextRequest;
    return new Promise((resolve) => {
      this.#pendingWho.set(request, resolve);
      post({
        type: "who",
        request
      });
    });
  }
  close() {
    this.postAfterSends({
      type: "close"
    });
  }
  /**
   * Posts `message` once every byte sent before it is in the ring, so that
   * the main thread, which writes the ring out before it acts on a message,
   * never lets it overtake them.
   */
  postAfterSends(message) {
    postedSinceOpen = true;
    this.afterSends(() => post(message));
  }
  /** Runs `then` once every byte sent before it is in the ring: now, or once they are. */
  afterSends(then) {
    if (this.#outbox.length === 0) {
      then();
    } else {
      this.#outbox.push({
        then
      });
    }
  }
  /**
   * The connection is gone: sends that wait for room fail now, as later
   * ones will, rather than wait on a ring nobody reads.
   */
  gone() {
    this.#output.abort();
    this.end();
  }
  answerWho(request, peers) {
    this.#pendingWho.get(request)?.(peers);
    this.#pendingWho.delete(request);
  }
  /**
   * The service is done with the connection, or the connection is gone:
   * later sends fail, and every `who` gets nobody. Sends already made still
   * go out while the connection lasts; see {@link gone} for when it does not.
   */
  end() {
    this.#closing.abort(SESSION_ENDED);
    this.#credit.forgive();
    for (const answer of this.#pendingWho.values()) answer([]);
    this.#pendingWho.clear();
  }
  /** Moves the outbox into the ring as room appears; one drain at a time. */
  async #drain() {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#outbox[0]; next; next = this.#outbox[0]) {
        if ("then" in next) {
          this.#outbox.shift();
          next.then();
        } else if (this.#output.state !== "open") {
          this.#outbox.shift();
          next.reject(new ConnectionClosedError(this.peer));
        } else {
          next.bytes = next.bytes.subarray(this.#output.write(next.bytes));
          if (next.bytes.byteLength === 0) {
            this.#outbox.shift();
            next.resolve();
          } else {
            await this.#output.waitForSpace();
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }
};
function reportFailure(error) {
  const failure = failedMessage(error);
  if (session) session.postAfterSends(failure);
  else post(failure);
}
var service;
var serviceSpecifier;
var loggingConfigured = false;
var session;
var rings;
var doorbell;
var control;
var driver;
var steps = Promise.resolve();
var requestTimings = [];
var timingsFlush;
function recordTiming(seconds) {
  requestTimings.push(seconds);
  timingsFlush ??= setTimeout(() => {
    timingsFlush = void 0;
    const requests = takeTimings();
    if (requests) post({
      type: "requests",
      requests
    });
  }, TIMINGS_FLUSH_MS);
}
function takeTimings() {
  if (requestTimings.length === 0) return void 0;
  const taken = requestTimings;
  requestTimings = [];
  return taken;
}
var LEVEL_RANK = {
  debug: 0,
  info: 1,
  warning: 2,
  error: 3
};
function forwardLogs(settings) {
  const lowest = LEVEL_RANK[RECORD_LEVEL[settings.level]];
  setLogBackend({
    write(category, level, message, properties) {
      if (LEVEL_RANK[level] < lowest) return;
      post({
        type: "log",
        category: [
          ...category
        ],
        level,
        message,
        properties
      });
    },
    isEnabledFor: (_, level) => LEVEL_RANK[level] >= lowest
  });
}
function enqueue(step) {
  steps = steps.then(step).catch(reportFailure);
}
async function openSession(message) {
  postedSinceOpen = false;
  if (!loggingConfigured) {
    forwardLogs(message.log);
    loggingConfigured = true;
  }
  if (!service || serviceSpecifier !== message.service) {
    service = await loadService(message.service, message.serviceArgs);
    serviceSpecifier = message.service;
    post({
      type: "loaded"
    });
  }
  rings = message.rings ?? rings;
  if (!rings) throw new Error("the first client came without the Worker's rings");
  const bell = doorbell ??= new Doorbell(rings.doorbell);
  control ??= new WorkerControl(rings.control);
  const input = new ByteRing(rings.input);
  session = new RemoteSession(message, new ByteRing(rings.output, () => bell.ring()));
  const onRequest = message.timeRequests ? recordTiming : void 0;
  driver = new SessionDriver(service, session, message.maxLine, onRequest);
  driver.start(reportFailure);
  await serveInput(input, driver, service.handlersOnly === true ? session : void 0);
}
var BLOCK_MS = 20;
var YIELD_EVERY_MS = 100;
var yieldedAt = performance.now();
async function yieldIfDue() {
  if (performance.now() - yieldedAt <= YIELD_EVERY_MS) return false;
  await new Promise((resolve) => setTimeout(resolve, 0));
  yieldedAt = performance.now();
  return true;
}
async function waitTurn(wait, block) {
  if (block) {
    if (await yieldIfDue()) return;
    wait.blocking(BLOCK_MS);
    if (wait.done()) return;
  }
  await wait.async();
  yieldedAt = performance.now();
}
async function serveInput(input, serving, blocking) {
  for (; ; ) {
    const chunk = input.readInPlace();
    if (chunk) {
      try {
        await serving.input(chunk);
      } catch (error) {
        reportFailure(error);
      }
      input.release(chunk.byteLength);
      continue;
    }
    const state = input.state;
    if (driver !== serving) return;
    if (state === "aborted") {
      session?.gone();
      await finishSession();
      return;
    }
    if (state === "ended") {
      await serving.endInput();
      await finishSession();
      return;
    }
    await waitTurn({
      blocking: (ms) => input.waitForDataBlocking(ms),
      async: () => input.waitForData(),
      done: () => input.available > 0 || input.state !== "open"
    }, blocking !== void 0 && !blocking.sendsWaiting);
  }
}
async function finishSession() {
  const finishing = driver;
  const ending = session;
  if (!finishing || !ending) return;
  ending.end();
  session = void 0;
  driver = void 0;
  try {
    await finishing.finish();
  } finally {
    const requests = takeTimings();
    const block = control;
    const bell = doorbell;
    if (postedSinceOpen || requests || !block || !bell) {
      ending.postAfterSends({
        type: "finished",
        requests
      });
    } else {
      ending.afterSends(() => {
        const seen = block.opened;
        block.finish();
        bell.ring();
        awaitNextOpen(block, seen).catch(reportFailure);
      });
    }
  }
}
async function awaitNextOpen(block, seen) {
  const wait = {
    blocking: (ms) => block.waitForOpenBlocking(seen, ms),
    async: () => block.waitForOpen(seen),
    done: () => block.opened !== seen
  };
  while (!wait.done()) await waitTurn(wait, service?.handlersOnly === true);
  const message = block.readOpen();
  if (message) enqueue(() => openSession(message));
}
function onMessage(event) {
  const message = event.data;
  switch (message.type) {
    case "port":
      toMain = message.port;
      message.port.onmessage = onMessage;
      post({
        type: "ready"
      });
      break;
    case "open":
      enqueue(() => openSession(message));
      break;
    case "who":
      session?.answerWho(message.request, message.peers);
      break;
    case "credit":
      session?.credit(message.bytes);
      break;
    case "closed":
      if (message.id !== void 0 && message.id !== session?.id) break;
      session?.gone();
      enqueue(finishSession);
      break;
  }
}
self.onmessage = onMessage;
post({
  type: "ready"
});
