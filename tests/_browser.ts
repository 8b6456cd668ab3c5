/**
 * A headless Chromium page for tests, driven by Playwright in a child
 * process. Playwright reads `/proc` and the home directory when it loads,
 * which Deno grants only with `--allow-all`; running it in its own process
 * keeps the test suite's narrower permissions. Each command is one JSON line
 * on the child's standard input, and each answer one JSON line on its output.
 *
 * Imported, this module gives tests {@link BrowserPage}; run as the main
 * module, it is the child that drives the browser.
 *
 * @module
 */

/** Debian's Chromium; `.ci/run` installs it when it is missing. */
export const CHROMIUM = "/usr/bin/chromium";

/** Flags for a sandbox without network or GPU, and without Chromium's own background traffic. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/**
 * How long one page condition may take before the test gives up. It is a
 * deadline for a stuck test, not a measure: pages may poll, and the machine
 * may be busy.
 */
const CONDITION_DEADLINE_MS = 60_000;

/** What a test asks of the page. */
type Command =
  | { goto: string }
  | { until: string }
  | { screenshot: string }
  | { close: true };

/** The child's answer to one command. */
type Answer = { ok: true } | { ok: false; error: string };

/** Whether Chromium is installed where the tests look for it. */
export function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One page in a headless Chromium, run by a child process. */
export class BrowserPage {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #answers: AsyncIterator<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#answers = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new LineSplitter(),
    )[Symbol.asyncIterator]();
  }

  /** Starts Chromium with one blank page. */
  static async open(): Promise<BrowserPage> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--allow-all",
        `--config=${new URL("../deno.json", import.meta.url).pathname}`,
        new URL(import.meta.url).pathname,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env: { NO_COLOR: "1" },
    }).spawn();
    const page = new BrowserPage(child);
    await page.#expectOk();
    return page;
  }

  /** Loads `url` and waits for it to finish loading. */
  goto(url: string): Promise<void> {
    return this.#send({ goto: url });
  }

  /**
   * Waits until a JavaScript expression, evaluated in the page, is true.
   *
   * @param expression Source text, since the tests are type-checked without the DOM's types.
   */
  until(expression: string): Promise<void> {
    return this.#send({ until: expression });
  }

  /**
   * Waits until every element named by id shows exactly its text.
   *
   * @param texts Element ids and the text each must show.
   */
  untilTexts(texts: Record<string, string>): Promise<void> {
    return this.until(
      Object.entries(texts)
        .map(([id, text]) =>
          `document.getElementById(${JSON.stringify(id)})?.textContent === ${JSON.stringify(text)}`
        )
        .join(" && "),
    );
  }

  /** Saves a PNG of the whole page to `path`. */
  screenshot(path: string): Promise<void> {
    return this.#send({ screenshot: path });
  }

  /** Closes the browser and waits for the child to exit. */
  async close(): Promise<void> {
    try {
      await this.#send({ close: true });
      await this.#writer.close();
    } finally {
      await this.#answers.return?.();
      await this.#child.status;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #send(command: Command): Promise<void> {
    await this.#writer.write(encoder.encode(JSON.stringify(command) + "\n"));
    await this.#expectOk();
  }

  async #expectOk(): Promise<void> {
    const next = await this.#answers.next();
    if (next.done) throw new Error("the browser process ended without answering");
    const answer = JSON.parse(next.value) as Answer;
    if (!answer.ok) throw new Error(`browser: ${answer.error}`);
  }
}

/** Splits a text stream into lines. */
class LineSplitter extends TransformStream<string, string> {
  constructor() {
    let pending = "";
    super({
      transform(chunk, controller) {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop()!;
        for (const line of lines) controller.enqueue(line);
      },
      flush(controller) {
        if (pending) controller.enqueue(pending);
      },
    });
  }
}

/** The child: launches Chromium, then runs one command a line until `close`. */
async function driveBrowser(): Promise<void> {
  const { chromium } = await import("playwright-core");
  const answer = (value: Answer) =>
    Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    page.setDefaultTimeout(CONDITION_DEADLINE_MS);
    answer({ ok: true });
    let pending = "";
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) return;
      pending += decoder.decode(buffer.subarray(0, n), { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        const command = JSON.parse(pending.slice(0, newline)) as Command;
        pending = pending.slice(newline + 1);
        try {
          if ("goto" in command) await page.goto(command.goto);
          else if ("until" in command) await page.waitForFunction(command.until);
          else if ("screenshot" in command) {
            await page.screenshot({ path: command.screenshot, fullPage: true });
          } else {
            answer({ ok: true });
            return;
          }
          answer({ ok: true });
        } catch (error) {
          answer({ ok: false, error: error instanceof Error ? error.message : String(error) });
        }
      }
    }
  } finally {
    await browser.close();
  }
}

if (import.meta.main) await driveBrowser();
