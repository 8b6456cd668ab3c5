// Generated from strategies/processes/child.ts by `deno task bundle`. Do not edit; on a merge
// conflict, rebuild it. See tools/bundle_workers.ts for why it exists.
var __defProp = Object.defineProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

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

// strategies/worker_protocol.ts
var RING_CAPACITY = 64 * 1024;
function failedMessage(error) {
  return {
    type: "failed",
    reason: describeError(error),
    stack: errorStack(error),
    disconnect: isDisconnect(error)
  };
}

// npm:@logtape/logtape/2.4.2/dist/disposable.js
var disposeSymbol = Symbol.dispose ?? Symbol.for("Symbol.dispose");
var asyncDisposeSymbol = Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose");

// npm:@logtape/logtape/2.4.2/dist/filter.js
function toFilter(filter) {
  if (typeof filter === "function") return filter;
  return getLevelFilter(filter);
}
function getLevelFilter(level) {
  const filter = createLevelFilter(level);
  levelFilters.set(filter, level);
  return filter;
}
var levelFilters = getLevelFilters();
function getLevelFilters() {
  const registry = globalThis;
  const key = Symbol.for("logtape.levelFilters");
  const map = registry[key];
  if (map instanceof WeakMap) return map;
  const newMap = /* @__PURE__ */ new WeakMap();
  registry[key] = newMap;
  return newMap;
}
function createLevelFilter(level) {
  if (level == null) return () => false;
  if (level === "fatal") return (record) => record.level === "fatal";
  else if (level === "error") return (record) => record.level === "fatal" || record.level === "error";
  else if (level === "warning") return (record) => record.level === "fatal" || record.level === "error" || record.level === "warning";
  else if (level === "info") return (record) => record.level === "fatal" || record.level === "error" || record.level === "warning" || record.level === "info";
  else if (level === "debug") return (record) => record.level === "fatal" || record.level === "error" || record.level === "warning" || record.level === "info" || record.level === "debug";
  else if (level === "trace") return () => true;
  throw new TypeError(`Invalid log level: ${level}.`);
}

// npm:@logtape/logtape/2.4.2/dist/level.js
var logLevels = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal"
];
function compareLogLevel(a, b) {
  const aIndex = logLevels.indexOf(a);
  if (aIndex < 0) throw new TypeError(`Invalid log level: ${JSON.stringify(a)}.`);
  const bIndex = logLevels.indexOf(b);
  if (bIndex < 0) throw new TypeError(`Invalid log level: ${JSON.stringify(b)}.`);
  return aIndex - bIndex;
}

// npm:@logtape/logtape/2.4.2/dist/scoped-config.js
var scopedConfigSymbol = Symbol.for("logtape.scopedConfig");
var defaultScopedLogger = {
  filters: [],
  filterIds: [],
  lowestLevel: "trace",
  parentSinks: "inherit",
  sinks: [],
  sinkIds: [],
  captureSourceLocation: void 0
};
var noFilters = [];
function getCurrentScopedConfig(contextLocalStorage) {
  const store = contextLocalStorage?.getStore();
  const scopedConfig = store?.[scopedConfigSymbol];
  return isCompiledScopedConfig(scopedConfig) ? getActiveScopedConfig(scopedConfig) : void 0;
}
function scopedConfigHasSink(scopedConfig, category, level) {
  return getScopedSinkDispatchPlan(scopedConfig, category, level).kind !== "none";
}
function scopedConfigCapturesSourceLocation(scopedConfig, category) {
  if (!scopedConfig.capturesSourceLocation) return false;
  const key = categoryKey(category);
  let captures = scopedConfig.sourceLocationCaptureCache.get(key);
  if (captures == null) {
    captures = false;
    for (let length = category.length; length >= 0; length--) {
      const logger2 = scopedConfig.nodes.get(categoryKey(category.slice(0, length)));
      if (logger2?.captureSourceLocation == null) continue;
      captures = logger2.captureSourceLocation;
      break;
    }
    scopedConfig.sourceLocationCaptureCache.set(key, captures);
  }
  return captures;
}
function emitWithScopedConfig(scopedConfig, record, bypassSinks, emitToSink) {
  const plan = getScopedSinkDispatchPlan(scopedConfig, record.category, record.level);
  if (plan.kind === "none") return;
  if (!filterScopedRecord(scopedConfig, record.category, record)) return;
  if (plan.kind === "one") {
    if (!bypassSinks?.has(plan.sink)) emitToSink(plan.sink, bypassSinks);
    return;
  }
  for (const sink of plan.sinks) {
    if (bypassSinks?.has(sink)) continue;
    emitToSink(sink, bypassSinks);
  }
}
function isCompiledScopedConfig(value) {
  return value != null && typeof value === "object" && "nodes" in value;
}
function getActiveScopedConfig(scopedConfig) {
  let activeConfig = scopedConfig;
  while (activeConfig?.disposed) activeConfig = activeConfig.parent;
  return activeConfig;
}
function categoryKey(category) {
  return JSON.stringify(category);
}
function getScopedSinkDispatchPlan(scopedConfig, category, level) {
  const cacheKey = `${categoryKey(category)}:${level}`;
  let plan = scopedConfig.dispatchCache.get(cacheKey);
  if (plan == null) {
    plan = getScopedSinkDispatchPlanForPrefix(scopedConfig, category, category.length, level);
    scopedConfig.dispatchCache.set(cacheKey, plan);
  }
  return plan;
}
function getScopedSinkDispatchPlanForPrefix(scopedConfig, category, length, level) {
  const prefix = category.slice(0, length);
  const logger2 = scopedConfig.nodes.get(categoryKey(prefix)) ?? defaultScopedLogger;
  if (logger2.lowestLevel === null || compareLogLevel(level, logger2.lowestLevel) < 0) return {
    kind: "none"
  };
  const parentPlan = length > 0 && logger2.parentSinks === "inherit" ? getScopedSinkDispatchPlanForPrefix(scopedConfig, category, length - 1, level) : length > 0 && logger2.parentSinks === "forward" ? wrapScopedSinks(collectScopedForwardSinks(scopedConfig, category, length - 1)) : {
    kind: "none"
  };
  let firstSink;
  let sinks;
  const appendSink = (sink) => {
    if (sinks != null) sinks.push(sink);
    else if (firstSink == null) firstSink = sink;
    else sinks = [
      firstSink,
      sink
    ];
  };
  if (parentPlan.kind === "one") appendSink(parentPlan.sink);
  else if (parentPlan.kind === "many") for (const sink of parentPlan.sinks) appendSink(sink);
  for (const sink of logger2.sinks) appendSink(sink);
  if (sinks != null) return {
    kind: "many",
    sinks
  };
  if (firstSink != null) return {
    kind: "one",
    sink: firstSink
  };
  return {
    kind: "none"
  };
}
function collectScopedForwardSinks(scopedConfig, category, length) {
  const logger2 = scopedConfig.nodes.get(categoryKey(category.slice(0, length))) ?? defaultScopedLogger;
  const parentSinks = length > 0 && logger2.parentSinks !== "override" ? collectScopedForwardSinks(scopedConfig, category, length - 1) : [];
  if (logger2.sinks.length < 1) return parentSinks;
  if (parentSinks.length < 1) return logger2.sinks;
  return [
    ...parentSinks,
    ...logger2.sinks
  ];
}
function wrapScopedSinks(sinks) {
  if (sinks.length < 1) return {
    kind: "none"
  };
  if (sinks.length === 1) return {
    kind: "one",
    sink: sinks[0]
  };
  return {
    kind: "many",
    sinks
  };
}
function filterScopedRecord(scopedConfig, category, record) {
  const key = categoryKey(category);
  let filters = scopedConfig.filterCache.get(key);
  if (filters == null) {
    filters = getScopedFilters(scopedConfig, category);
    scopedConfig.filterCache.set(key, filters);
  }
  return filters.every((filter) => filter(record));
}
function getScopedFilters(scopedConfig, category) {
  for (let length = category.length; length >= 0; length--) {
    const logger2 = scopedConfig.nodes.get(categoryKey(category.slice(0, length)));
    if (logger2 == null || logger2.filters.length < 1) continue;
    return logger2.filters;
  }
  return noFilters;
}

// npm:@logtape/logtape/2.4.2/dist/source-location.js
var v8FramePrefix = "    at ";
var absoluteFilePattern = /^(?:[A-Za-z][A-Za-z0-9+.-]*:|\/|\\\\)/;
var locationPattern = /^(.+):(\d+):(\d+)$/;
var rejected = Symbol("rejected");
function parseSourceLocation(stack, frameIndex) {
  if (typeof stack !== "string") return void 0;
  const lines = stack.split("\n");
  if (lines[0].trim() === "Error") {
    if (lines.length < 2 || !lines[1].startsWith(v8FramePrefix)) return void 0;
    return parseV8Frame(lines[frameIndex + 1]);
  }
  if (lines[0] === "" || /^\s/.test(lines[0])) return void 0;
  return parseSpiderMonkeyFrame(lines[frameIndex]);
}
function parseV8Frame(frame) {
  if (frame == null || !frame.startsWith(v8FramePrefix)) return void 0;
  const body = frame.slice(v8FramePrefix.length);
  if (body.includes("eval at ")) return void 0;
  if (!body.endsWith(")")) return accept(parseLocation(body.startsWith("async ") ? body.slice(6) : body));
  let found;
  for (let i = body.indexOf(" ("); i >= 0; i = body.indexOf(" (", i + 1)) {
    const location = parseLocation(body.slice(i + 2, -1));
    if (location === rejected) return void 0;
    if (location == null) continue;
    if (found != null) return void 0;
    found = location;
  }
  return found;
}
function parseSpiderMonkeyFrame(frame) {
  if (frame == null) return void 0;
  const whole = parseLocation(frame);
  if (whole === rejected) return void 0;
  if (whole != null && absoluteFilePattern.test(whole.file)) return void 0;
  let found;
  for (let i = frame.indexOf("@"); i >= 0; i = frame.indexOf("@", i + 1)) {
    const location = parseLocation(frame.slice(i + 1));
    if (location === rejected) return void 0;
    if (location == null || !absoluteFilePattern.test(location.file)) continue;
    if (found != null) return void 0;
    found = location;
  }
  return found;
}
function accept(location) {
  return location === rejected ? void 0 : location;
}
function parseLocation(location) {
  const match = locationPattern.exec(location);
  if (match == null) return void 0;
  const file = match[1];
  const line = Number(match[2]);
  const column = Number(match[3]);
  if (file === "native" || file === "<anonymous>" || file === "[native code]" || file.includes("address at ") || file.includes("eval at ") || file.includes(" > eval") || file.includes(" > Function") || line < 1 || column < 1) return rejected;
  return {
    file,
    line,
    column
  };
}

// npm:@logtape/logtape/2.4.2/dist/logger.js
var lazySymbol = Symbol.for("logtape.lazy");
var throttlingSummaryRecordSymbol = Symbol.for("LogTape.throttlingSummaryRecord");
var immediateSinkSymbol = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");
var internalStringLogRecords = /* @__PURE__ */ new WeakSet();
var resolvedStringLogRecords = /* @__PURE__ */ new WeakSet();
var globalSourceLocationCapture = false;
var scopedSourceLocationCaptures = 0;
function isSourceLocationCaptureActive() {
  return globalSourceLocationCapture || scopedSourceLocationCaptures > 0;
}
function attachSourceLocation(record, sourceLocation) {
  if (sourceLocation == null) return;
  record.sourceLocation = sourceLocation;
}
function isLazy(value) {
  return value != null && typeof value === "object" && lazySymbol in value && value[lazySymbol] === true;
}
function resolveProperties(properties) {
  const resolved = {};
  for (const key in properties) {
    const value = properties[key];
    resolved[key] = isLazy(value) ? value.getter() : value;
  }
  const symbolProperties = properties;
  const symbolResolved = resolved;
  if (Object.prototype.propertyIsEnumerable.call(properties, throttlingSummaryRecordSymbol)) {
    const value = symbolProperties[throttlingSummaryRecordSymbol];
    symbolResolved[throttlingSummaryRecordSymbol] = isLazy(value) ? value.getter() : value;
  }
  return resolved;
}
function isPromiseObject(value) {
  if (value instanceof Promise) return true;
  return Object.prototype.toString.call(value) === "[object Promise]" && typeof value.then === "function";
}
function logStringMessage(logger2, level, message, props, sourceLocation) {
  if (typeof props !== "function") {
    const properties = props ?? {};
    logger2.log(level, message, properties, void 0, sourceLocation);
    return;
  }
  if (!logger2.isEnabledFor(level)) return Promise.resolve();
  const result = props();
  if (isPromiseObject(result)) return Promise.resolve(result).then((resolvedProps) => {
    logger2.log(level, message, resolvedProps, void 0, sourceLocation);
  });
  logger2.log(level, message, result, void 0, sourceLocation);
}
function snapshotLogRecordProperties(record) {
  if (resolvedStringLogRecords.has(record)) return record;
  const properties = resolveProperties(record.properties);
  if (internalStringLogRecords.has(record)) {
    const snapshot = {
      category: record.category,
      level: record.level,
      get message() {
        return record.message;
      },
      rawMessage: record.rawMessage,
      timestamp: record.timestamp,
      properties
    };
    attachSourceLocation(snapshot, record.sourceLocation);
    return snapshot;
  }
  const descriptors = Object.getOwnPropertyDescriptors(record);
  descriptors.properties = {
    value: properties,
    enumerable: true,
    configurable: true
  };
  return Object.defineProperties({}, descriptors);
}
function hasEnumerableProperties(properties) {
  if (properties == null || typeof properties !== "object") return false;
  return Object.keys(properties).length > 0 || Object.prototype.propertyIsEnumerable.call(properties, throttlingSummaryRecordSymbol);
}
function shouldSnapshotForSink(sink) {
  return sink[immediateSinkSymbol] !== true;
}
function getLogger(category = []) {
  return LoggerImpl.getLogger(category);
}
var globalRootLoggerSymbol = Symbol.for("logtape.rootLogger");
function isMetaLoggerCategory(category) {
  return category.length >= 2 && category[0] === "logtape" && category[1] === "meta";
}
var LoggerImpl = class LoggerImpl2 {
  parent;
  children;
  category;
  sinks;
  filters;
  contextLocalStorage;
  /**
  * Whether to capture source locations for this logger and its
  * descendants.  `undefined` inherits the setting from the parent.
  */
  sourceLocationCapture = void 0;
  #parentSinks = "inherit";
  #lowestLevel = "trace";
  #sinkPlanCache = {};
  #forwardPlanCache = void 0;
  static getLogger(category = []) {
    let rootLogger = globalRootLoggerSymbol in globalThis ? globalThis[globalRootLoggerSymbol] ?? null : null;
    if (rootLogger == null) {
      rootLogger = new LoggerImpl2(null, []);
      globalThis[globalRootLoggerSymbol] = rootLogger;
    }
    if (typeof category === "string") return rootLogger.getChild(category);
    if (category.length === 0) return rootLogger;
    return rootLogger.getChild(category);
  }
  static getNearestExistingLogger(category) {
    let logger2 = LoggerImpl2.getLogger();
    for (const name of category) {
      const childRef = logger2.children[name];
      const child = childRef instanceof LoggerImpl2 ? childRef : childRef?.deref();
      if (child == null) break;
      logger2 = child;
    }
    return logger2;
  }
  constructor(parent, category) {
    this.parent = parent;
    this.children = {};
    this.category = category;
    this.sinks = [];
    this.filters = [];
  }
  get parentSinks() {
    return this.#parentSinks;
  }
  set parentSinks(value) {
    if (this.#parentSinks === value) return;
    this.#parentSinks = value;
  }
  get lowestLevel() {
    return this.#lowestLevel;
  }
  set lowestLevel(value) {
    if (this.#lowestLevel === value) return;
    this.#lowestLevel = value;
  }
  getChild(subcategory) {
    const name = typeof subcategory === "string" ? subcategory : subcategory[0];
    const childRef = this.children[name];
    let child = childRef instanceof LoggerImpl2 ? childRef : childRef?.deref();
    if (child == null) {
      child = new LoggerImpl2(this, [
        ...this.category,
        name
      ]);
      this.children[name] = "WeakRef" in globalThis ? new WeakRef(child) : child;
    }
    if (typeof subcategory === "string" || subcategory.length === 1) return child;
    return child.getChild(subcategory.slice(1));
  }
  /**
  * Reset the logger.  This removes all sinks and filters from the logger.
  */
  reset() {
    while (this.sinks.length > 0) this.sinks.shift();
    this.parentSinks = "inherit";
    while (this.filters.length > 0) this.filters.shift();
    this.lowestLevel = "trace";
    this.sourceLocationCapture = void 0;
  }
  /**
  * Reset the logger and all its descendants.  This removes all sinks and
  * filters from the logger and all its descendants.
  */
  resetDescendants() {
    for (const child of Object.values(this.children)) {
      const logger2 = child instanceof LoggerImpl2 ? child : child.deref();
      if (logger2 != null) logger2.resetDescendants();
    }
    this.reset();
  }
  with(properties) {
    return new LoggerCtx(this, {
      ...properties
    });
  }
  /**
  * Sets whether the global configuration enables source location capture
  * for any category.  Call this on the root logger only.
  */
  setGlobalSourceLocationCapture(enabled2) {
    globalSourceLocationCapture = enabled2;
  }
  /**
  * Records that a scoped configuration which enables source location
  * capture for some category became active.  Call this on the root logger
  * only, and balance it with
  * {@link LoggerImpl.releaseScopedSourceLocationCapture}.
  */
  retainScopedSourceLocationCapture() {
    scopedSourceLocationCaptures++;
  }
  /**
  * Records that a scoped configuration retained with
  * {@link LoggerImpl.retainScopedSourceLocationCapture} ended.  Call this on
  * the root logger only.
  */
  releaseScopedSourceLocationCapture() {
    if (scopedSourceLocationCaptures > 0) scopedSourceLocationCaptures--;
  }
  /**
  * Captures where user code called the public logging method that called
  * this method, if source location capture is enabled for this logger and
  * a record of the given level could be emitted.
  *
  * It must be called directly by the public logging method that user code
  * called (e.g., {@link LoggerImpl.info} or {@link LoggerCtx.info}), and
  * not in tail position, because the location is read from the third frame
  * of a stack trace constructed here: this method, the logging method, and
  * then its caller.  JavaScriptCore implements proper tail calls, so a call
  * in tail position would remove the logging method's frame.
  * @param level The log level of the record to be made.
  * @returns The source location, or `undefined` if capture is disabled, the
  *          record would certainly be dropped, or the stack trace could not
  *          be parsed.
  */
  captureSourceLocation(level) {
    if (isMetaLoggerCategory(this.category)) return void 0;
    const categoryPrefix = getCategoryPrefix();
    const scopedConfig = getCurrentScopedConfig(LoggerImpl2.getLogger().contextLocalStorage);
    if (scopedConfig != null) {
      const category = categoryPrefix.length > 0 ? [
        ...categoryPrefix,
        ...this.category
      ] : this.category;
      if (!scopedConfigHasSink(scopedConfig, category, level) || !scopedConfigCapturesSourceLocation(scopedConfig, category)) return void 0;
    } else {
      const dispatcher = this.getDispatcher(categoryPrefix);
      if (dispatcher.isCertainlyDroppedResolved(level) || !dispatcher.capturesSourceLocation()) return void 0;
    }
    try {
      return parseSourceLocation(new Error().stack, 2);
    } catch {
      return void 0;
    }
  }
  /**
  * Resolves whether this logger or the nearest ancestor that configures it
  * captures source locations.
  */
  capturesSourceLocation() {
    if (this.sourceLocationCapture != null) return this.sourceLocationCapture;
    return this.parent?.capturesSourceLocation() ?? false;
  }
  filter(record) {
    for (const filter of this.filters) if (!filter(record)) return false;
    if (this.filters.length < 1) return this.parent?.filter(record) ?? true;
    return true;
  }
  *getSinks(level) {
    const plan = this.getSinkDispatchPlan(level);
    switch (plan.kind) {
      case "none":
        return;
      case "one":
        yield plan.sink;
        return;
      case "many":
        yield* plan.sinks;
        return;
    }
  }
  getSinkDispatchPlan(level) {
    const cached = this.#sinkPlanCache[level];
    if (cached != null && this.isSinkDispatchPlanFresh(level, cached)) return cached;
    const plan = this.createSinkDispatchPlan(level, this.resolveParentPlan(level));
    this.#sinkPlanCache[level] = plan;
    return plan;
  }
  resolveParentPlan(level) {
    if (this.parent == null) return void 0;
    if (this.parentSinks === "inherit") return this.parent.getSinkDispatchPlan(level);
    if (this.parentSinks === "forward") return this.parent.getForwardSinkPlan();
    return void 0;
  }
  isSinkDispatchPlanFresh(level, plan) {
    if (plan.lowestLevel !== this.lowestLevel || plan.parentSinks !== this.parentSinks || plan.localSinks.length !== this.sinks.length) return false;
    for (let i = 0; i < plan.localSinks.length; i++) if (plan.localSinks[i] !== this.sinks[i]) return false;
    return plan.parentPlan === this.resolveParentPlan(level);
  }
  getForwardSinkPlan() {
    const cached = this.#forwardPlanCache;
    if (cached != null && this.isForwardSinkPlanFresh(cached)) return cached;
    const parentPlan = this.parent != null && this.parentSinks !== "override" ? this.parent.getForwardSinkPlan() : void 0;
    const plan = this.createForwardSinkPlan(parentPlan);
    this.#forwardPlanCache = plan;
    return plan;
  }
  isForwardSinkPlanFresh(plan) {
    if (plan.parentSinks !== this.parentSinks || plan.localSinks.length !== this.sinks.length) return false;
    for (let i = 0; i < plan.localSinks.length; i++) if (plan.localSinks[i] !== this.sinks[i]) return false;
    const parentPlan = this.parent != null && this.parentSinks !== "override" ? this.parent.getForwardSinkPlan() : void 0;
    return plan.parentPlan === parentPlan;
  }
  createForwardSinkPlan(parentPlan) {
    const localSinks = [
      ...this.sinks
    ];
    const sinks = parentPlan == null || parentPlan.sinks.length < 1 ? localSinks : [
      ...parentPlan.sinks,
      ...localSinks
    ];
    return {
      kind: "forward",
      localSinks,
      parentSinks: this.parentSinks,
      parentPlan,
      sinks
    };
  }
  createSinkDispatchPlan(level, parentPlan) {
    const state = {
      localSinks: [
        ...this.sinks
      ],
      parentSinks: this.parentSinks,
      lowestLevel: this.lowestLevel,
      parentPlan
    };
    if (state.lowestLevel === null) return {
      ...state,
      kind: "none"
    };
    if (compareLogLevel(level, state.lowestLevel) < 0) return {
      ...state,
      kind: "none"
    };
    let firstSink;
    let sinks;
    const appendSink = (sink) => {
      if (sinks != null) sinks.push(sink);
      else if (firstSink == null) firstSink = sink;
      else sinks = [
        firstSink,
        sink
      ];
    };
    if (parentPlan != null) {
      if (parentPlan.kind === "one") firstSink = parentPlan.sink;
      else if (parentPlan.kind === "many") sinks = [
        ...parentPlan.sinks
      ];
      else if (parentPlan.kind === "forward") {
        if (parentPlan.sinks.length === 1) firstSink = parentPlan.sinks[0];
        else if (parentPlan.sinks.length > 1) sinks = [
          ...parentPlan.sinks
        ];
      }
    }
    for (const sink of state.localSinks) appendSink(sink);
    if (sinks != null) return {
      ...state,
      kind: "many",
      sinks
    };
    if (firstSink != null) return {
      ...state,
      kind: "one",
      sink: firstSink
    };
    return {
      ...state,
      kind: "none"
    };
  }
  isEnabledFor(level) {
    const categoryPrefix = isMetaLoggerCategory(this.category) ? [] : getCategoryPrefix();
    const scopedConfig = getCurrentScopedConfig(LoggerImpl2.getLogger().contextLocalStorage);
    if (scopedConfig != null) return scopedConfigHasSink(scopedConfig, categoryPrefix.length > 0 ? [
      ...categoryPrefix,
      ...this.category
    ] : this.category, level);
    return this.getDispatcher(categoryPrefix).isEnabledForResolved(level);
  }
  /**
  * Checks whether a record of the given level logged through this logger
  * would certainly be dropped without being seen by any filter or sink.
  * Logging methods use this to return before building a record.
  *
  * This assumes the context-local storage's store does not change between
  * synchronous reads within a single logging call, which holds for
  * `AsyncLocalStorage` and for the stores set up by `withContext()`,
  * `withCategoryPrefix()`, and `withConfig()`.
  * @param level The log level of the record.
  * @returns `true` if emitting such a record would have no observable
  *          effect, `false` otherwise.
  */
  isCertainlyDropped(level) {
    const categoryPrefix = isMetaLoggerCategory(this.category) ? [] : getCategoryPrefix();
    const scopedConfig = getCurrentScopedConfig(LoggerImpl2.getLogger().contextLocalStorage);
    if (scopedConfig != null) return !scopedConfigHasSink(scopedConfig, categoryPrefix.length > 0 ? [
      ...categoryPrefix,
      ...this.category
    ] : this.category, level);
    return this.getDispatcher(categoryPrefix).isCertainlyDroppedResolved(level);
  }
  /**
  * Checks whether a record of the given level dispatched by this logger,
  * without a scoped configuration, would certainly be dropped.  See
  * {@link LoggerImpl.isCertainlyDropped}.
  */
  isCertainlyDroppedResolved(level) {
    if (this.lowestLevel === null || compareLogLevel(level, this.lowestLevel) < 0) return true;
    return !this.isEnabledForResolved(level) && !this.hasEffectiveFilters();
  }
  /**
  * Resolves the logger that actually dispatches records logged through this
  * logger under the given category prefix.  It must stay in sync with
  * the dispatcher resolution in {@link LoggerImpl.emit}.
  */
  getDispatcher(categoryPrefix) {
    return categoryPrefix.length > 0 ? LoggerImpl2.getNearestExistingLogger([
      ...categoryPrefix,
      ...this.category
    ]) : this;
  }
  /**
  * Checks whether {@link LoggerImpl.filter} would run any filter, i.e.,
  * whether this logger or any of its ancestors has a filter.
  */
  hasEffectiveFilters() {
    if (this.filters.length > 0) return true;
    return this.parent?.hasEffectiveFilters() ?? false;
  }
  /**
  * Checks whether {@link LoggerImpl.getSinks} would yield any sink for
  * the given level, without building or validating sink dispatch plans.
  * It must stay in sync with {@link LoggerImpl.createSinkDispatchPlan}.
  */
  isEnabledForResolved(level) {
    if (this.lowestLevel === null || compareLogLevel(level, this.lowestLevel) < 0) return false;
    if (this.sinks.length > 0) return true;
    if (this.parent == null) return false;
    if (this.parentSinks === "inherit") return this.parent.isEnabledForResolved(level);
    if (this.parentSinks === "forward") return this.parent.hasForwardSinks();
    return false;
  }
  /**
  * Checks whether {@link LoggerImpl.getForwardSinkPlan} would collect any
  * sink, i.e., whether this logger or an ancestor up to and including the
  * nearest one whose `parentSinks` is `"override"` has local sinks.
  */
  hasForwardSinks() {
    if (this.sinks.length > 0) return true;
    return this.parent != null && this.parentSinks !== "override" && this.parent.hasForwardSinks();
  }
  emit(record, bypassSinks) {
    const hasCategory = "category" in record;
    const baseCategory = hasCategory ? record.category : this.category;
    const categoryPrefix = isMetaLoggerCategory(baseCategory) ? [] : getCategoryPrefix();
    const fullCategory = categoryPrefix.length > 0 ? [
      ...categoryPrefix,
      ...baseCategory
    ] : baseCategory;
    if (categoryPrefix.length < 1 && Object.prototype.hasOwnProperty.call(record, "category")) {
      this.emitResolved(record, bypassSinks);
      return;
    }
    const descriptors = Object.getOwnPropertyDescriptors(record);
    descriptors.category = {
      value: fullCategory,
      enumerable: true,
      configurable: true
    };
    const fullRecord = Object.defineProperties({}, descriptors);
    const dispatcher = categoryPrefix.length > 0 ? LoggerImpl2.getNearestExistingLogger(fullCategory) : this;
    dispatcher.emitResolved(fullRecord, bypassSinks);
  }
  emitResolved(record, bypassSinks) {
    const scopedConfig = getCurrentScopedConfig(LoggerImpl2.getLogger().contextLocalStorage);
    if (scopedConfig != null) {
      let snapshot$1;
      let snapshotFailed$1 = false;
      emitWithScopedConfig(scopedConfig, record, bypassSinks, (sink, activeBypassSinks) => {
        try {
          if (shouldSnapshotForSink(sink)) try {
            snapshot$1 ??= snapshotLogRecordProperties(record);
          } catch {
            snapshotFailed$1 = true;
            snapshot$1 = record;
          }
          sink(snapshot$1 ?? record);
        } catch (error) {
          const bypassSinks2 = new Set(activeBypassSinks);
          bypassSinks2.add(sink);
          metaLogger.log("fatal", "Failed to emit a log record to sink {sink}: {error}", {
            sink,
            error,
            record
          }, bypassSinks2);
        }
        if (snapshotFailed$1) snapshot$1 = record;
      });
      return;
    }
    if (this.lowestLevel === null || compareLogLevel(record.level, this.lowestLevel) < 0 || !this.filter(record)) return;
    const plan = this.getSinkDispatchPlan(record.level);
    if (plan.kind === "none") return;
    let snapshot;
    let snapshotFailed = false;
    if (plan.kind === "one") {
      const sink = plan.sink;
      if (bypassSinks?.has(sink)) return;
      try {
        if (shouldSnapshotForSink(sink)) try {
          snapshot = snapshotLogRecordProperties(record);
        } catch {
          snapshotFailed = true;
          snapshot = record;
        }
        sink(snapshot ?? record);
      } catch (error) {
        const bypassSinks2 = new Set(bypassSinks);
        bypassSinks2.add(sink);
        metaLogger.log("fatal", "Failed to emit a log record to sink {sink}: {error}", {
          sink,
          error,
          record
        }, bypassSinks2);
      }
      return;
    }
    for (const sink of plan.sinks) {
      if (bypassSinks?.has(sink)) continue;
      try {
        if (snapshot == null && !snapshotFailed && shouldSnapshotForSink(sink)) try {
          snapshot = snapshotLogRecordProperties(record);
        } catch {
          snapshotFailed = true;
          snapshot = record;
        }
        sink(snapshot ?? record);
      } catch (error) {
        const bypassSinks2 = new Set(bypassSinks);
        bypassSinks2.add(sink);
        metaLogger.log("fatal", "Failed to emit a log record to sink {sink}: {error}", {
          sink,
          error,
          record
        }, bypassSinks2);
      }
    }
  }
  log(level, rawMessage, properties, bypassSinks, sourceLocation) {
    if (this.isCertainlyDropped(level)) return;
    const implicitContext = getImplicitContextIfAny();
    if (typeof properties !== "function" && implicitContext == null && !rawMessage.includes("{") && !hasEnumerableProperties(properties)) {
      const record$1 = {
        category: this.category,
        level,
        message: [
          rawMessage
        ],
        rawMessage,
        timestamp: Date.now(),
        properties: {}
      };
      attachSourceLocation(record$1, sourceLocation);
      resolvedStringLogRecords.add(record$1);
      this.emit(record$1, bypassSinks);
      return;
    }
    let cachedProps = void 0;
    let cachedMessage = void 0;
    const record = typeof properties === "function" ? {
      category: this.category,
      level,
      timestamp: Date.now(),
      get message() {
        if (cachedMessage == null) cachedMessage = parseMessageTemplate(rawMessage, this.properties);
        return cachedMessage;
      },
      rawMessage,
      get properties() {
        if (cachedProps == null) cachedProps = resolveProperties({
          ...implicitContext ?? {},
          ...properties()
        });
        return cachedProps;
      }
    } : {
      category: this.category,
      level,
      timestamp: Date.now(),
      get message() {
        if (cachedMessage == null) cachedMessage = parseMessageTemplate(rawMessage, this.properties);
        return cachedMessage;
      },
      rawMessage,
      get properties() {
        if (cachedProps == null) cachedProps = resolveProperties({
          ...implicitContext ?? {},
          ...properties
        });
        return cachedProps;
      }
    };
    attachSourceLocation(record, sourceLocation);
    internalStringLogRecords.add(record);
    this.emit(record, bypassSinks);
  }
  logLazily(level, callback, properties = {}, sourceLocation) {
    if (this.isCertainlyDropped(level)) return;
    const implicitContext = getImplicitContextIfAny();
    let rawMessage = void 0;
    let msg = void 0;
    function realizeMessage() {
      if (msg == null || rawMessage == null) {
        msg = callback((tpl, ...values) => {
          rawMessage = tpl;
          return renderMessage(tpl, values);
        });
        if (rawMessage == null) throw new TypeError("No log record was made.");
      }
      return [
        msg,
        rawMessage
      ];
    }
    const record = {
      category: this.category,
      level,
      get message() {
        return realizeMessage()[0];
      },
      get rawMessage() {
        return realizeMessage()[1];
      },
      timestamp: Date.now(),
      properties: {
        ...implicitContext ?? {},
        ...properties
      }
    };
    attachSourceLocation(record, sourceLocation);
    this.emit(record);
  }
  logTemplate(level, messageTemplate, values, properties = {}, sourceLocation) {
    if (this.isCertainlyDropped(level)) return;
    const implicitContext = getImplicitContextIfAny();
    const record = {
      category: this.category,
      level,
      message: renderMessage(messageTemplate, values),
      rawMessage: messageTemplate,
      timestamp: Date.now(),
      properties: {
        ...implicitContext ?? {},
        ...properties
      }
    };
    attachSourceLocation(record, sourceLocation);
    this.emit(record);
  }
  trace(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.captureSourceLocation("trace") : void 0;
    if (typeof message === "string") return logStringMessage(this, "trace", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("trace", message, void 0, sourceLocation);
    else if (!Array.isArray(message)) this.log("trace", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("trace", message, values, void 0, sourceLocation);
  }
  debug(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.captureSourceLocation("debug") : void 0;
    if (typeof message === "string") return logStringMessage(this, "debug", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("debug", message, void 0, sourceLocation);
    else if (!Array.isArray(message)) this.log("debug", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("debug", message, values, void 0, sourceLocation);
  }
  info(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.captureSourceLocation("info") : void 0;
    if (typeof message === "string") return logStringMessage(this, "info", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("info", message, void 0, sourceLocation);
    else if (!Array.isArray(message)) this.log("info", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("info", message, values, void 0, sourceLocation);
  }
  logError(level, error, props, sourceLocation) {
    if (typeof props !== "function") {
      this.log(level, "{error.message}", {
        ...props,
        error
      }, void 0, sourceLocation);
      return;
    }
    if (!this.isEnabledFor(level)) return Promise.resolve();
    const result = props();
    if (result instanceof Promise) return result.then((resolved) => {
      this.log(level, "{error.message}", {
        ...resolved,
        error
      }, void 0, sourceLocation);
    });
    this.log(level, "{error.message}", {
      ...result,
      error
    }, void 0, sourceLocation);
  }
  warn(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.captureSourceLocation("warning") : void 0;
    if (message instanceof Error) return this.logError("warning", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("warning", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "warning", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("warning", message, void 0, sourceLocation);
    else if (!Array.isArray(message)) this.log("warning", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("warning", message, values, void 0, sourceLocation);
  }
  warning(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.captureSourceLocation("warning") : void 0;
    if (message instanceof Error) return this.logError("warning", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("warning", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "warning", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("warning", message, void 0, sourceLocation);
    else if (!Array.isArray(message)) this.log("warning", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("warning", message, values, void 0, sourceLocation);
  }
  error(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.captureSourceLocation("error") : void 0;
    if (message instanceof Error) return this.logError("error", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("error", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "error", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("error", message, void 0, sourceLocation);
    else if (!Array.isArray(message)) this.log("error", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("error", message, values, void 0, sourceLocation);
  }
  fatal(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.captureSourceLocation("fatal") : void 0;
    if (message instanceof Error) return this.logError("fatal", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("fatal", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "fatal", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("fatal", message, void 0, sourceLocation);
    else if (!Array.isArray(message)) this.log("fatal", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("fatal", message, values, void 0, sourceLocation);
  }
};
var LoggerCtx = class LoggerCtx2 {
  logger;
  properties;
  constructor(logger2, properties) {
    this.logger = logger2;
    this.properties = properties;
  }
  get category() {
    return this.logger.category;
  }
  get parent() {
    return this.logger.parent;
  }
  getChild(subcategory) {
    return this.logger.getChild(subcategory).with(this.properties);
  }
  with(properties) {
    return new LoggerCtx2(this.logger, {
      ...this.properties,
      ...properties
    });
  }
  log(level, message, properties, bypassSinks, sourceLocation) {
    if (this.logger.isCertainlyDropped(level)) return;
    const contextProps = this.properties;
    this.logger.log(level, message, typeof properties === "function" ? () => resolveProperties({
      ...contextProps,
      ...properties()
    }) : () => resolveProperties({
      ...contextProps,
      ...properties
    }), bypassSinks, sourceLocation);
  }
  logLazily(level, callback, sourceLocation) {
    if (this.logger.isCertainlyDropped(level)) return;
    this.logger.logLazily(level, callback, resolveProperties(this.properties), sourceLocation);
  }
  logTemplate(level, messageTemplate, values, sourceLocation) {
    if (this.logger.isCertainlyDropped(level)) return;
    this.logger.logTemplate(level, messageTemplate, values, resolveProperties(this.properties), sourceLocation);
  }
  emit(record) {
    const recordWithContext = {
      ...record,
      properties: resolveProperties({
        ...this.properties,
        ...record.properties
      })
    };
    this.logger.emit(recordWithContext);
  }
  isEnabledFor(level) {
    return this.logger.isEnabledFor(level);
  }
  trace(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.logger.captureSourceLocation("trace") : void 0;
    if (typeof message === "string") return logStringMessage(this, "trace", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("trace", message, sourceLocation);
    else if (!Array.isArray(message)) this.log("trace", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("trace", message, values, sourceLocation);
  }
  debug(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.logger.captureSourceLocation("debug") : void 0;
    if (typeof message === "string") return logStringMessage(this, "debug", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("debug", message, sourceLocation);
    else if (!Array.isArray(message)) this.log("debug", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("debug", message, values, sourceLocation);
  }
  info(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.logger.captureSourceLocation("info") : void 0;
    if (typeof message === "string") return logStringMessage(this, "info", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("info", message, sourceLocation);
    else if (!Array.isArray(message)) this.log("info", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("info", message, values, sourceLocation);
  }
  logError(level, error, props, sourceLocation) {
    if (typeof props !== "function") {
      this.log(level, "{error.message}", {
        ...props,
        error
      }, void 0, sourceLocation);
      return;
    }
    if (!this.isEnabledFor(level)) return Promise.resolve();
    const result = props();
    if (result instanceof Promise) return result.then((resolved) => {
      this.log(level, "{error.message}", {
        ...resolved,
        error
      }, void 0, sourceLocation);
    });
    this.log(level, "{error.message}", {
      ...result,
      error
    }, void 0, sourceLocation);
  }
  warn(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.logger.captureSourceLocation("warning") : void 0;
    if (message instanceof Error) return this.logError("warning", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("warning", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "warning", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("warning", message, sourceLocation);
    else if (!Array.isArray(message)) this.log("warning", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("warning", message, values, sourceLocation);
  }
  warning(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.logger.captureSourceLocation("warning") : void 0;
    if (message instanceof Error) return this.logError("warning", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("warning", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "warning", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("warning", message, sourceLocation);
    else if (!Array.isArray(message)) this.log("warning", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("warning", message, values, sourceLocation);
  }
  error(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.logger.captureSourceLocation("error") : void 0;
    if (message instanceof Error) return this.logError("error", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("error", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "error", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("error", message, sourceLocation);
    else if (!Array.isArray(message)) this.log("error", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("error", message, values, sourceLocation);
  }
  fatal(message, ...values) {
    const sourceLocation = isSourceLocationCaptureActive() ? this.logger.captureSourceLocation("fatal") : void 0;
    if (message instanceof Error) return this.logError("fatal", message, values[0], sourceLocation);
    else if (typeof message === "string" && values[0] instanceof Error) this.log("fatal", message, {
      error: values[0]
    }, void 0, sourceLocation);
    else if (typeof message === "string") return logStringMessage(this, "fatal", message, values[0], sourceLocation);
    else if (typeof message === "function") this.logLazily("fatal", message, sourceLocation);
    else if (!Array.isArray(message)) this.log("fatal", "{*}", message, void 0, sourceLocation);
    else this.logTemplate("fatal", message, values, sourceLocation);
  }
};
var metaLogger = LoggerImpl.getLogger([
  "logtape",
  "meta"
]);
function isNestedAccess(key) {
  return key.includes(".") || key.includes("[") || key.includes("?.");
}
function getOwnProperty(obj, key) {
  if (key === "__proto__" || key === "prototype" || key === "constructor") return void 0;
  if ((typeof obj === "object" || typeof obj === "function") && obj !== null) return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : void 0;
  return void 0;
}
function parseNextSegment(path, fromIndex) {
  const len = path.length;
  let i = fromIndex;
  if (i >= len) return null;
  let segment;
  if (path[i] === "[") {
    i++;
    if (i >= len) return null;
    if (path[i] === '"' || path[i] === "'") {
      const quote = path[i];
      i++;
      let segmentStr = "";
      while (i < len && path[i] !== quote) if (path[i] === "\\") {
        i++;
        if (i < len) {
          const escapeChar2 = path[i];
          switch (escapeChar2) {
            case "n":
              segmentStr += "\n";
              break;
            case "t":
              segmentStr += "	";
              break;
            case "r":
              segmentStr += "\r";
              break;
            case "b":
              segmentStr += "\b";
              break;
            case "f":
              segmentStr += "\f";
              break;
            case "v":
              segmentStr += "\v";
              break;
            case "0":
              segmentStr += "\0";
              break;
            case "\\":
              segmentStr += "\\";
              break;
            case '"':
              segmentStr += '"';
              break;
            case "'":
              segmentStr += "'";
              break;
            case "u":
              if (i + 4 < len) {
                const hex = path.slice(i + 1, i + 5);
                const codePoint = Number.parseInt(hex, 16);
                if (!Number.isNaN(codePoint)) {
                  segmentStr += String.fromCharCode(codePoint);
                  i += 4;
                } else segmentStr += escapeChar2;
              } else segmentStr += escapeChar2;
              break;
            default:
              segmentStr += escapeChar2;
          }
          i++;
        }
      } else {
        segmentStr += path[i];
        i++;
      }
      if (i >= len) return null;
      segment = segmentStr;
      i++;
    } else {
      const startIndex = i;
      while (i < len && path[i] !== "]" && path[i] !== "'" && path[i] !== '"') i++;
      if (i >= len) return null;
      const indexStr = path.slice(startIndex, i);
      if (indexStr.length === 0) return null;
      const indexNum = Number(indexStr);
      segment = Number.isNaN(indexNum) ? indexStr : indexNum;
    }
    while (i < len && path[i] !== "]") i++;
    if (i < len) i++;
  } else {
    const startIndex = i;
    while (i < len && path[i] !== "." && path[i] !== "[" && path[i] !== "?" && path[i] !== "]") i++;
    segment = path.slice(startIndex, i);
    if (segment.length === 0) return null;
  }
  if (i < len && path[i] === ".") i++;
  return {
    segment,
    nextIndex: i
  };
}
function accessProperty(obj, segment) {
  if (typeof segment === "string") return getOwnProperty(obj, segment);
  if (Array.isArray(obj) && segment >= 0 && segment < obj.length) return obj[segment];
  return void 0;
}
function resolvePropertyPath(obj, path) {
  if (obj == null) return void 0;
  if (path.length === 0 || path.endsWith(".")) return void 0;
  let current = obj;
  let i = 0;
  const len = path.length;
  while (i < len) {
    const isOptional = path.slice(i, i + 2) === "?.";
    if (isOptional) {
      i += 2;
      if (current == null) return void 0;
    } else if (current == null) return void 0;
    const result = parseNextSegment(path, i);
    if (result === null) return void 0;
    const { segment, nextIndex } = result;
    i = nextIndex;
    current = accessProperty(current, segment);
    if (current === void 0) return void 0;
  }
  return current;
}
function parseMessageTemplate(template, properties) {
  const length = template.length;
  if (length === 0) return [
    ""
  ];
  if (!template.includes("{")) return [
    template
  ];
  const message = [];
  let startIndex = 0;
  for (let i = 0; i < length; i++) {
    const char = template[i];
    if (char === "{") {
      const nextChar = i + 1 < length ? template[i + 1] : "";
      if (nextChar === "{") {
        i++;
        continue;
      }
      const closeIndex = template.indexOf("}", i + 1);
      if (closeIndex === -1) continue;
      const beforeText = template.slice(startIndex, i);
      message.push(beforeText.replace(/{{/g, "{").replace(/}}/g, "}"));
      const key = template.slice(i + 1, closeIndex);
      let prop;
      const trimmedKey = key.trim();
      if (trimmedKey === "*") prop = key in properties ? properties[key] : "*" in properties ? properties["*"] : properties;
      else {
        if (key !== trimmedKey) prop = key in properties ? properties[key] : properties[trimmedKey];
        else prop = properties[key];
        if (prop === void 0 && isNestedAccess(trimmedKey)) prop = resolvePropertyPath(properties, trimmedKey);
      }
      message.push(prop);
      i = closeIndex;
      startIndex = i + 1;
    } else if (char === "}" && i + 1 < length && template[i + 1] === "}") i++;
  }
  const remainingText = template.slice(startIndex);
  message.push(remainingText.replace(/{{/g, "{").replace(/}}/g, "}"));
  return message;
}
function renderMessage(template, values) {
  const args = [];
  for (let i = 0; i < template.length; i++) {
    args.push(template[i]);
    if (i < values.length) args.push(values[i]);
  }
  return args;
}

// npm:@logtape/logtape/2.4.2/dist/context.js
var categoryPrefixSymbol = Symbol.for("logtape.categoryPrefix");
function getCategoryPrefix() {
  const rootLogger = LoggerImpl.getLogger();
  const store = rootLogger.contextLocalStorage?.getStore();
  if (store == null) return [];
  const prefix = store[categoryPrefixSymbol];
  return Array.isArray(prefix) ? prefix : [];
}
function getImplicitContextIfAny() {
  const rootLogger = LoggerImpl.getLogger();
  const store = rootLogger.contextLocalStorage?.getStore();
  if (store == null) return void 0;
  const keys = Object.keys(store);
  if (keys.length < 1) return void 0;
  const result = {};
  for (const key of keys) result[key] = store[key];
  return result;
}

// npm:@logtape/logtape/2.4.2/dist/sanitize.js
function escapeChar(charCode) {
  if (charCode === 10) return "\\n";
  if (charCode === 13) return "\\r";
  if (charCode === 27) return "\\x1b";
  return `\\x${charCode.toString(16).padStart(2, "0")}`;
}
function isDangerous(charCode, escapeNewlines) {
  if (charCode === 9) return false;
  if (charCode === 10 || charCode === 13) return escapeNewlines;
  if (charCode < 32 || charCode === 127) return true;
  return charCode >= 128 && charCode <= 159;
}
var sgrPattern = /^\x1b\[([0-9;:]*)m/;
var sgrReset = "\x1B[0m";
function sanitizeControlSequences(text, options = {}) {
  const preserveSgr = options.sgr !== "escape";
  const escapeNewlines = options.newlines === "escape";
  let needsWork = false;
  for (let i$1 = 0; i$1 < text.length; i$1++) {
    const charCode = text.charCodeAt(i$1);
    if (charCode === 27 || isDangerous(charCode, escapeNewlines)) {
      needsWork = true;
      break;
    }
  }
  if (!needsWork) return text;
  let result = "";
  let i = 0;
  let sgrOpen = false;
  while (i < text.length) {
    const charCode = text.charCodeAt(i);
    if (charCode === 27) {
      if (preserveSgr) {
        const sgr = sgrPattern.exec(text.slice(i));
        if (sgr != null) {
          result += sgr[0];
          sgrOpen = !isSgrReset(sgr[1]);
          i += sgr[0].length;
          continue;
        }
      }
      result += escapeChar(27);
      i++;
    } else if (isDangerous(charCode, escapeNewlines)) {
      result += escapeChar(charCode);
      i++;
    } else {
      result += text[i];
      i++;
    }
  }
  return sgrOpen ? result + sgrReset : result;
}
function isSgrReset(parameters) {
  return /^0*$/.test(parameters.replace(/[;:]/g, ""));
}
function getSanitizer(options) {
  if (options === false) return null;
  const resolved = options ?? {};
  return (text) => sanitizeControlSequences(text, resolved);
}

// npm:@logtape/logtape/2.4.2/dist/circular.js
function createCircularReplacer(inner) {
  const sources = [];
  const results = [];
  return function(key, value) {
    const result = inner === void 0 ? value : inner.call(this, key, value);
    if (typeof result !== "object" || result === null) return result;
    while (results.length > 0 && results[results.length - 1] !== this) {
      results.pop();
      sources.pop();
    }
    for (let i = 0; i < results.length; i++) if (results[i] === result || sources[i] === value) return "[Circular]";
    sources.push(value);
    results.push(result);
    return result;
  };
}
function stringifyWithoutCycles(value, replacer, space) {
  try {
    return JSON.stringify(value, replacer, space);
  } catch {
    return JSON.stringify(value, createCircularReplacer(replacer), space);
  }
}

// npm:@logtape/logtape/2.4.2/dist/util.node.js
var util_node_exports = {};
__export(util_node_exports, {
  inspect: () => inspect
});
const util = { inspect: (value, options) => Deno.inspect(value, options) };
function inspect(obj, options) {
  return util.inspect(obj, options);
}

// npm:@logtape/logtape/2.4.2/dist/formatter.js
var levelAbbreviations = {
  "trace": "TRC",
  "debug": "DBG",
  "info": "INF",
  "warning": "WRN",
  "error": "ERR",
  "fatal": "FTL"
};
var platformInspect = typeof document !== "undefined" || typeof navigator !== "undefined" && navigator.product === "ReactNative" ? (v) => stringifyWithoutCycles(v) : "Deno" in globalThis && "inspect" in globalThis.Deno && typeof globalThis.Deno.inspect === "function" ? (v, opts) => globalThis.Deno.inspect(v, {
  strAbbreviateSize: Infinity,
  iterableLimit: Infinity,
  ...opts
}) : util_node_exports != null && "inspect" in util_node_exports && typeof inspect === "function" ? (v, opts) => inspect(v, {
  maxArrayLength: Infinity,
  maxStringLength: Infinity,
  ...opts
}) : (v) => stringifyWithoutCycles(v);
var inspect2 = (value, options) => String(platformInspect(value, options));
var utf8Encoder = new TextEncoder();
function getValueRenderer(value, sanitize, fallback) {
  if (value == null) return fallback;
  if (typeof value === "function") return (v) => value(v, inspect2);
  if (value !== "bare") throw new TypeError(`Invalid value option: ${JSON.stringify(value)}. It must be "bare" or a function.`);
  const sanitizeBare = sanitize === false ? null : getSanitizer({
    sgr: "escape",
    newlines: sanitize?.newlines ?? "escape"
  });
  return sanitizeBare == null ? (v) => typeof v === "string" ? v : fallback(v) : (v) => typeof v === "string" ? sanitizeBare(v) : fallback(v);
}
function renderMessageParts(msgParts, valueRenderer, sanitize) {
  const msgLen = msgParts.length;
  const renderPart = sanitize == null ? (part) => part : (part) => sanitize(part);
  if (msgLen === 1) return renderPart(msgParts[0]);
  if (msgLen <= 6) {
    let message = "";
    for (let i = 0; i < msgLen; i++) message += i % 2 === 0 ? renderPart(msgParts[i]) : valueRenderer(msgParts[i]);
    return message;
  }
  const parts = new Array(msgLen);
  for (let i = 0; i < msgLen; i++) parts[i] = i % 2 === 0 ? renderPart(msgParts[i]) : valueRenderer(msgParts[i]);
  return parts.join("");
}
function padZero(num) {
  return num < 10 ? `0${num}` : `${num}`;
}
function padThree(num) {
  return num < 10 ? `00${num}` : num < 100 ? `0${num}` : `${num}`;
}
var fixedOffsetPattern = /^([+-])(0\d|1\d|2[0-3]):([0-5]\d)$/;
function formatOffset(minutes, full) {
  const sign = minutes < 0 ? "-" : "+";
  const absolute = Math.abs(minutes);
  const hour = padZero(Math.floor(absolute / 60));
  const minute = padZero(absolute % 60);
  if (!full && minute === "00") return `${sign}${hour}`;
  return `${sign}${hour}:${minute}`;
}
function readPartsFromFormatter(formatter, ts) {
  const parts = formatter.formatToParts(new Date(ts));
  let year = "";
  let month = "";
  let day = "";
  let hour = "";
  let minute = "";
  let second = "";
  for (const part of parts) if (part.type === "year") year = part.value;
  else if (part.type === "month") month = part.value;
  else if (part.type === "day") day = part.value;
  else if (part.type === "hour") hour = part.value;
  else if (part.type === "minute") minute = part.value;
  else if (part.type === "second") second = part.value;
  return {
    year,
    month,
    day,
    hour,
    minute,
    second
  };
}
function getDateParts(ts, config) {
  const d = new Date(ts);
  const ms = padThree(d.getUTCMilliseconds());
  if (config.kind === "utc") return {
    year: `${d.getUTCFullYear()}`,
    month: padZero(d.getUTCMonth() + 1),
    day: padZero(d.getUTCDate()),
    hour: padZero(d.getUTCHours()),
    minute: padZero(d.getUTCMinutes()),
    second: padZero(d.getUTCSeconds()),
    ms,
    offsetMinutes: 0
  };
  if (config.kind === "local") return {
    year: `${d.getFullYear()}`,
    month: padZero(d.getMonth() + 1),
    day: padZero(d.getDate()),
    hour: padZero(d.getHours()),
    minute: padZero(d.getMinutes()),
    second: padZero(d.getSeconds()),
    ms,
    offsetMinutes: -d.getTimezoneOffset()
  };
  if (config.kind === "offset") {
    const shifted = new Date(ts + config.minutes * 6e4);
    return {
      year: `${shifted.getUTCFullYear()}`,
      month: padZero(shifted.getUTCMonth() + 1),
      day: padZero(shifted.getUTCDate()),
      hour: padZero(shifted.getUTCHours()),
      minute: padZero(shifted.getUTCMinutes()),
      second: padZero(shifted.getUTCSeconds()),
      ms,
      offsetMinutes: config.minutes
    };
  }
  const parts = readPartsFromFormatter(config.formatter, ts);
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second), d.getUTCMilliseconds());
  const offsetMinutes = Math.round((asUtc - ts) / 6e4);
  return {
    ...parts,
    ms,
    offsetMinutes
  };
}
function resolveTimeZone(timeZone) {
  if (typeof timeZone === "undefined") return {
    kind: "utc"
  };
  if (timeZone === null) return {
    kind: "local"
  };
  const offsetMatch = fixedOffsetPattern.exec(timeZone);
  if (offsetMatch != null) {
    const sign = offsetMatch[1] === "-" ? -1 : 1;
    const hours = Number(offsetMatch[2]);
    const minutes = Number(offsetMatch[3]);
    return {
      kind: "offset",
      minutes: sign * (hours * 60 + minutes)
    };
  }
  if (typeof Intl === "undefined" || typeof Intl.DateTimeFormat !== "function") throw new TypeError(`Invalid timeZone option: ${JSON.stringify(timeZone)}. This environment does not support IANA time zones.`);
  try {
    return {
      kind: "iana",
      formatter: new Intl.DateTimeFormat("en-CA", {
        timeZone,
        hour12: false,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit"
      })
    };
  } catch {
    throw new TypeError(`Invalid timeZone option: ${JSON.stringify(timeZone)}. Expected an IANA time zone name (e.g., "Asia/Seoul") or a fixed UTC offset string (e.g., "+09:00").`);
  }
}
function createTimestampFormatter(pattern, timeZone) {
  if (pattern === "none") return () => null;
  if (pattern === "rfc3339" && timeZone.kind === "utc") return (ts) => new Date(ts).toISOString();
  return (ts) => {
    const parts = getDateParts(ts, timeZone);
    const date = `${parts.year}-${parts.month}-${parts.day}`;
    const time = `${parts.hour}:${parts.minute}:${parts.second}.${parts.ms}`;
    const tzLong = formatOffset(parts.offsetMinutes, true);
    const tzShort = formatOffset(parts.offsetMinutes, false);
    if (pattern === "date-time-timezone") return `${date} ${time} ${tzLong}`;
    if (pattern === "date-time-tz") return `${date} ${time} ${tzShort}`;
    if (pattern === "date-time") return `${date} ${time}`;
    if (pattern === "time-timezone") return `${time} ${tzLong}`;
    if (pattern === "time-tz") return `${time} ${tzShort}`;
    if (pattern === "time") return time;
    if (pattern === "date") return date;
    return `${date}T${time}${tzLong}`;
  };
}
var levelRenderersCache = {
  ABBR: levelAbbreviations,
  abbr: {
    trace: "trc",
    debug: "dbg",
    info: "inf",
    warning: "wrn",
    error: "err",
    fatal: "ftl"
  },
  FULL: {
    trace: "TRACE",
    debug: "DEBUG",
    info: "INFO",
    warning: "WARNING",
    error: "ERROR",
    fatal: "FATAL"
  },
  full: {
    trace: "trace",
    debug: "debug",
    info: "info",
    warning: "warning",
    error: "error",
    fatal: "fatal"
  },
  L: {
    trace: "T",
    debug: "D",
    info: "I",
    warning: "W",
    error: "E",
    fatal: "F"
  },
  l: {
    trace: "t",
    debug: "d",
    info: "i",
    warning: "w",
    error: "e",
    fatal: "f"
  }
};
function getLineEndingValue(lineEnding) {
  return lineEnding === "crlf" ? "\r\n" : "\n";
}
var jsonControlPattern = /[\u007f-\u009f]/g;
function escapeJsonControlChars(json) {
  return json.replace(jsonControlPattern, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
function bigintReplacer(_key, value) {
  return typeof value === "bigint" ? value.toString() : value;
}
function stringifyJsonMessageValue(value) {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  return stringifyWithoutCycles(value, bigintReplacer);
}
function jsonReplacer(_key, value) {
  if (typeof value === "bigint") return value.toString();
  if (!(value instanceof Error)) return value;
  const serialized = {
    name: value.name,
    message: value.message
  };
  if (typeof value.stack === "string") serialized.stack = value.stack;
  const cause = value.cause;
  if (cause !== void 0) serialized.cause = cause;
  if (typeof AggregateError !== "undefined" && value instanceof AggregateError) serialized.errors = value.errors;
  for (const key of Object.keys(value)) if (!(key in serialized)) serialized[key] = value[key];
  return serialized;
}
function renderDefaultJsonLinesMessage(message) {
  const messageLength = message.length;
  if (messageLength === 1) return message[0];
  if (messageLength === 3) return message[0] + stringifyJsonMessageValue(message[1]) + message[2];
  let rendered = message[0];
  for (let i = 1; i < messageLength; i++) rendered += i & 1 ? stringifyJsonMessageValue(message[i]) : message[i];
  return rendered;
}
function stringifyJsonLinesField(key, value) {
  if (value != null && (typeof value === "object" || typeof value === "function" || typeof value === "bigint")) {
    const toJSON = value.toJSON;
    if (typeof toJSON === "function") value = toJSON.call(value, key);
  }
  return JSON.stringify(jsonReplacer(key, value), createCircularReplacer(jsonReplacer));
}
function formatDefaultJsonLinesRecord(record, lineEnding) {
  const level = record.level === "warning" ? "WARN" : record.level.toUpperCase();
  const messageJson = stringifyJsonLinesField("message", renderDefaultJsonLinesMessage(record.message));
  const propertiesJson = stringifyJsonLinesField("properties", record.properties);
  let line = `{"@timestamp":${JSON.stringify(new Date(record.timestamp).toISOString())},"level":${JSON.stringify(level)}`;
  if (messageJson !== void 0) line += `,"message":${messageJson}`;
  line += `,"logger":${JSON.stringify(record.category.join("."))}`;
  if (propertiesJson !== void 0) line += `,"properties":${propertiesJson}`;
  return escapeJsonControlChars(`${line}}`) + lineEnding;
}
function getTextFormatter(options = {}) {
  const timestampRenderer = (() => {
    const tsOption = options.timestamp;
    const timeZone = resolveTimeZone(options.timeZone);
    if (tsOption == null) return createTimestampFormatter("date-time-timezone", timeZone);
    else if (tsOption === "disabled") return createTimestampFormatter("none", timeZone);
    else if (typeof tsOption === "string" && (tsOption === "date-time-timezone" || tsOption === "date-time-tz" || tsOption === "date-time" || tsOption === "time-timezone" || tsOption === "time-tz" || tsOption === "time" || tsOption === "date" || tsOption === "rfc3339" || tsOption === "none")) return createTimestampFormatter(tsOption, timeZone);
    else return tsOption;
  })();
  const categorySeparator = options.category ?? "\xB7";
  const sanitize = getSanitizer(options.sanitize);
  const sanitizeCategory = getSanitizer(options.sanitize === false ? false : {
    ...options.sanitize,
    sgr: "escape"
  });
  const valueRenderer = getValueRenderer(options.value, options.sanitize, inspect2);
  const levelRenderer = (() => {
    const levelOption = options.level;
    if (levelOption == null || levelOption === "ABBR") return (level) => levelRenderersCache.ABBR[level];
    else if (levelOption === "abbr") return (level) => levelRenderersCache.abbr[level];
    else if (levelOption === "FULL") return (level) => levelRenderersCache.FULL[level];
    else if (levelOption === "full") return (level) => levelRenderersCache.full[level];
    else if (levelOption === "L") return (level) => levelRenderersCache.L[level];
    else if (levelOption === "l") return (level) => levelRenderersCache.l[level];
    else return levelOption;
  })();
  const lineEnding = getLineEndingValue(options.lineEnding);
  const sourceLocationRenderer = getSourceLocationRenderer(options.sourceLocation, options.sanitize === false ? null : getSanitizer({
    ...options.sanitize,
    sgr: "escape",
    newlines: "escape"
  }));
  const formatter = options.format ?? (({ timestamp, level, category, message, sourceLocation }) => `${timestamp ? `${timestamp} ` : ""}[${level}] ${category}${sourceLocation == null ? "" : ` (${sourceLocation})`}: ${message}`);
  return (record) => {
    const message = renderMessageParts(record.message, valueRenderer, sanitize);
    const timestamp = timestampRenderer(record.timestamp);
    const level = levelRenderer(record.level);
    const categoryParts = sanitizeCategory == null ? record.category : record.category.map(sanitizeCategory);
    const category = typeof categorySeparator === "function" ? categorySeparator(categoryParts) : categoryParts.join(categorySeparator);
    const values = {
      timestamp,
      level,
      category,
      message,
      record
    };
    if (sourceLocationRenderer != null) values.sourceLocation = record.sourceLocation == null ? null : sourceLocationRenderer(record.sourceLocation);
    return `${formatter(values)}${lineEnding}`;
  };
}
function getSourceLocationRenderer(option, sanitize) {
  if (option == null || option === false) return null;
  const render = option === true ? (location) => `${location.file}:${location.line}:${location.column}` : option;
  if (sanitize == null) return render;
  return (location) => sanitize(render(location));
}
var defaultTextFormatter = getTextFormatter();
var RESET = "\x1B[0m";
var ansiColors = {
  black: "\x1B[30m",
  red: "\x1B[31m",
  green: "\x1B[32m",
  yellow: "\x1B[33m",
  blue: "\x1B[34m",
  magenta: "\x1B[35m",
  cyan: "\x1B[36m",
  white: "\x1B[37m"
};
var ansiStyles = {
  bold: "\x1B[1m",
  dim: "\x1B[2m",
  italic: "\x1B[3m",
  underline: "\x1B[4m",
  strikethrough: "\x1B[9m"
};
var defaultLevelColors = {
  trace: null,
  debug: "blue",
  info: "green",
  warning: "yellow",
  error: "red",
  fatal: "magenta"
};
function getAnsiColorFormatter(options = {}) {
  const format = options.format;
  const timestampStyle = typeof options.timestampStyle === "undefined" ? "dim" : options.timestampStyle;
  const timestampColor = options.timestampColor ?? null;
  const timestampPrefix = `${timestampStyle == null ? "" : ansiStyles[timestampStyle]}${timestampColor == null ? "" : ansiColors[timestampColor]}`;
  const timestampSuffix = timestampStyle == null && timestampColor == null ? "" : RESET;
  const levelStyle = typeof options.levelStyle === "undefined" ? "bold" : options.levelStyle;
  const levelColors = options.levelColors ?? defaultLevelColors;
  const categoryStyle = typeof options.categoryStyle === "undefined" ? "dim" : options.categoryStyle;
  const categoryColor = options.categoryColor ?? null;
  const categoryPrefix = `${categoryStyle == null ? "" : ansiStyles[categoryStyle]}${categoryColor == null ? "" : ansiColors[categoryColor]}`;
  const categorySuffix = categoryStyle == null && categoryColor == null ? "" : RESET;
  return getTextFormatter({
    timestamp: "date-time-tz",
    value(value, fallbackInspect) {
      return fallbackInspect(value, {
        colors: true
      });
    },
    ...options,
    ...options.value === "bare" ? {
      value: getValueRenderer("bare", options.sanitize, (v) => inspect2(v, {
        colors: true
      }))
    } : {},
    format({ timestamp, level, category, message, sourceLocation, record }) {
      const levelColor = levelColors[record.level];
      timestamp = timestamp == null ? null : `${timestampPrefix}${timestamp}${timestampSuffix}`;
      level = `${levelStyle == null ? "" : ansiStyles[levelStyle]}${levelColor == null ? "" : ansiColors[levelColor]}${level}${levelStyle == null && levelColor == null ? "" : RESET}`;
      if (format == null) return `${timestamp == null ? "" : `${timestamp} `}${level} ${categoryPrefix}${category}${sourceLocation == null ? "" : ` (${sourceLocation})`}:${categorySuffix} ${message}`;
      const values = {
        timestamp,
        level,
        category: `${categoryPrefix}${category}${categorySuffix}`,
        message,
        record
      };
      if (sourceLocation !== void 0) values.sourceLocation = sourceLocation == null ? null : `${categoryPrefix}${sourceLocation}${categorySuffix}`;
      return format(values);
    }
  });
}
var ansiColorFormatter = getAnsiColorFormatter();
function getJsonLinesFormatter(options = {}) {
  const lineEnding = getLineEndingValue(options.lineEnding);
  if (!options.categorySeparator && !options.message && !options.properties) return (record) => formatDefaultJsonLinesRecord(record, lineEnding);
  const isTemplateMessage = options.message === "template";
  const propertiesOption = options.properties ?? "nest:properties";
  let joinCategory;
  if (typeof options.categorySeparator === "function") joinCategory = options.categorySeparator;
  else {
    const separator = options.categorySeparator ?? ".";
    joinCategory = (category) => category.join(separator);
  }
  let getProperties;
  if (propertiesOption === "flatten") getProperties = (properties) => properties;
  else if (propertiesOption.startsWith("prepend:")) {
    const prefix = propertiesOption.substring(8);
    if (prefix === "") throw new TypeError(`Invalid properties option: ${JSON.stringify(propertiesOption)}. It must be of the form "prepend:<prefix>" where <prefix> is a non-empty string.`);
    getProperties = (properties) => {
      const result = {};
      for (const key in properties) result[`${prefix}${key}`] = properties[key];
      return result;
    };
  } else if (propertiesOption.startsWith("nest:")) {
    const key = propertiesOption.substring(5);
    getProperties = (properties) => ({
      [key]: properties
    });
  } else throw new TypeError(`Invalid properties option: ${JSON.stringify(propertiesOption)}. It must be "flatten", "prepend:<prefix>", or "nest:<key>".`);
  let getMessage;
  if (isTemplateMessage) getMessage = (record) => {
    if (typeof record.rawMessage === "string") return record.rawMessage;
    let msg = "";
    for (let i = 0; i < record.rawMessage.length; i++) {
      if (i > 0) msg += "{}";
      msg += record.rawMessage[i];
    }
    return msg;
  };
  else getMessage = (record) => {
    const msgLen = record.message.length;
    if (msgLen === 1) return record.message[0];
    let msg = "";
    for (let i = 0; i < msgLen; i++) msg += i % 2 < 1 ? record.message[i] : stringifyJsonMessageValue(record.message[i]);
    return msg;
  };
  return (record) => {
    return escapeJsonControlChars(JSON.stringify({
      "@timestamp": new Date(record.timestamp).toISOString(),
      level: record.level === "warning" ? "WARN" : record.level.toUpperCase(),
      message: getMessage(record),
      logger: joinCategory(record.category),
      ...getProperties(record.properties)
    }, createCircularReplacer(jsonReplacer))) + lineEnding;
  };
}
var jsonLinesFormatter = getJsonLinesFormatter();
function renderStructuredMessage(record, template) {
  if (template) {
    if (typeof record.rawMessage === "string") return record.rawMessage;
    return record.rawMessage.join("{}");
  }
  return renderMessageParts(record.message, stringifyLogfmtValue);
}
function filterLogfmtKey(key) {
  if (key === "") return null;
  let needsEscape = false;
  for (const char of key) {
    const code = char.codePointAt(0);
    if (shouldEscapeLogfmtKeyChar(char, code)) {
      needsEscape = true;
      break;
    }
  }
  if (!needsEscape) return key;
  let result = "";
  for (const char of key) {
    const code = char.codePointAt(0);
    if (shouldEscapeLogfmtKeyChar(char, code)) result += encodeLogfmtKeyChar(char);
    else result += char;
  }
  return result;
}
function isTerminalControlCode(code) {
  return code === 127 || code >= 128 && code <= 159;
}
function shouldEscapeLogfmtKeyChar(char, code) {
  return code <= 32 || isTerminalControlCode(code) || code === 65533 || char === "=" || char === '"' || char === "%";
}
function encodeLogfmtKeyChar(char) {
  let result = "";
  for (const byte of utf8Encoder.encode(char)) result += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return result;
}
function stringifyLogfmtValue(value) {
  if (typeof value === "string") return value;
  if (value === null) return "null";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" || typeof value === "undefined" || typeof value === "symbol" || typeof value === "function") return String(value);
  try {
    const json = JSON.stringify(value, jsonReplacer);
    if (typeof json === "string") return unwrapJsonStringLiteral(json);
  } catch {
  }
  return inspect2(value, {
    colors: false
  });
}
function unwrapJsonStringLiteral(json) {
  if (json.startsWith('"') && json.endsWith('"')) return JSON.parse(json);
  return json;
}
function quoteLogfmtValue(value, isString) {
  let needsQuote = value === "" || isString && shouldQuoteStringLiteral(value);
  for (const char of value) {
    const code = char.codePointAt(0);
    if (shouldQuoteLogfmtValueChar(char, code)) {
      needsQuote = true;
      break;
    }
  }
  if (!needsQuote) return value;
  let quoted = "";
  for (const char of value) {
    const code = char.codePointAt(0);
    quoted += escapeLogfmtValueChar(char, code);
  }
  return `"${quoted}"`;
}
function shouldQuoteStringLiteral(value) {
  return value === "null" || value === "undefined" || value === "true" || value === "false";
}
function shouldQuoteLogfmtValueChar(char, code) {
  return code <= 32 || isTerminalControlCode(code) || code === 65533 || char === "=" || char === '"' || char === "\\";
}
function escapeLogfmtValueChar(char, code) {
  switch (char) {
    case "	":
      return "\\t";
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case '"':
      return '\\"';
    case "\\":
      return "\\\\";
    default:
      return code <= 31 || isTerminalControlCode(code) ? `\\u${code.toString(16).padStart(4, "0")}` : char;
  }
}
function formatLogfmtValue(value) {
  const stringified = stringifyLogfmtValue(value);
  return quoteLogfmtValue(stringified, typeof value === "string");
}
function pushLogfmtPair(pairs, key, value) {
  const filteredKey = filterLogfmtKey(key);
  if (filteredKey == null) return;
  pairs.push(`${filteredKey}=${formatLogfmtValue(value)}`);
}
function getLogfmtFormatter(options = {}) {
  const prependPrefix = "prepend:";
  const lineEnding = getLineEndingValue(options.lineEnding);
  const timestampRenderer = createTimestampFormatter("rfc3339", resolveTimeZone(options.timeZone));
  const isTemplateMessage = options.message === "template";
  const propertiesOption = options.properties ?? "flatten";
  let joinCategory;
  if (typeof options.categorySeparator === "function") joinCategory = options.categorySeparator;
  else {
    const separator = options.categorySeparator ?? ".";
    joinCategory = (category) => category.join(separator);
  }
  let propertyPrefix = "";
  if (propertiesOption === "flatten") propertyPrefix = "";
  else if (propertiesOption.startsWith(prependPrefix)) {
    propertyPrefix = propertiesOption.substring(prependPrefix.length);
    if (propertyPrefix === "") throw new TypeError("Invalid properties option: " + JSON.stringify(propertiesOption) + '. It must be of the form "prepend:<prefix>" where <prefix> is a non-empty string.');
  } else throw new TypeError(`Invalid properties option: ${JSON.stringify(propertiesOption)}. It must be "flatten" or "prepend:<prefix>".`);
  return (record) => {
    const pairs = [];
    pushLogfmtPair(pairs, "time", timestampRenderer(record.timestamp));
    pushLogfmtPair(pairs, "level", record.level);
    pushLogfmtPair(pairs, "logger", joinCategory(record.category));
    pushLogfmtPair(pairs, "msg", renderStructuredMessage(record, isTemplateMessage));
    for (const key in record.properties) if (Object.prototype.hasOwnProperty.call(record.properties, key)) pushLogfmtPair(pairs, `${propertyPrefix}${key}`, record.properties[key]);
    return `${pairs.join(" ")}${lineEnding}`;
  };
}
var logfmtFormatter = getLogfmtFormatter();
var logLevelStyles = {
  "trace": "background-color: gray; color: white;",
  "debug": "background-color: gray; color: white;",
  "info": "background-color: white; color: black;",
  "warning": "background-color: orange; color: black;",
  "error": "background-color: red; color: white;",
  "fatal": "background-color: maroon; color: white;"
};
function defaultConsoleFormatter(record) {
  return formatConsoleRecord(record, void 0);
}
function formatConsoleRecord(record, sourceLocation) {
  let msg = "";
  const values = [];
  for (let i = 0; i < record.message.length; i++) if (i % 2 === 0) msg += sanitizeControlSequences(record.message[i]);
  else {
    msg += "%o";
    values.push(record.message[i]);
  }
  const date = new Date(record.timestamp);
  const time = `${date.getUTCHours().toString().padStart(2, "0")}:${date.getUTCMinutes().toString().padStart(2, "0")}:${date.getUTCSeconds().toString().padStart(2, "0")}.${date.getUTCMilliseconds().toString().padStart(3, "0")}`;
  const category = record.category.map((c) => sanitizeControlSequences(c, {
    sgr: "escape"
  })).join("\xB7");
  if (sourceLocation == null) return [
    `%c${time} %c${levelAbbreviations[record.level]}%c %c${category} %c${msg}`,
    "color: gray;",
    logLevelStyles[record.level],
    "background-color: default;",
    "color: gray;",
    "color: default;",
    ...values
  ];
  return [
    `%c${time} %c${levelAbbreviations[record.level]}%c %c${category} (%s) %c${msg}`,
    "color: gray;",
    logLevelStyles[record.level],
    "background-color: default;",
    "color: gray;",
    sourceLocation,
    "color: default;",
    ...values
  ];
}

// npm:@logtape/logtape/2.4.2/dist/sink.js
var immediateSinkSymbol2 = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");
function createSinkNotifications(sink, interval, onDrop, onError) {
  let notificationDepth = 0;
  let dropped = 0;
  let timer = null;
  function notify(callback, event) {
    notificationDepth++;
    try {
      const result = callback(event);
      if (result != null) Promise.resolve(result).catch(() => {
      });
    } catch {
    } finally {
      notificationDepth--;
    }
  }
  function reportDrops() {
    const count = dropped;
    dropped = 0;
    if (count > 0 && onDrop != null) notify(onDrop, {
      count,
      reason: "overflow"
    });
  }
  return {
    get notifying() {
      return notificationDepth > 0;
    },
    drop() {
      if (onDrop == null) return;
      dropped++;
      if (timer == null) timer = setTimeout(() => {
        timer = null;
        reportDrops();
      }, interval);
    },
    error(error, operation, defer = false) {
      if (onError == null) return;
      const event = {
        error,
        sink,
        operation
      };
      if (defer) queueMicrotask(() => notify(onError, event));
      else notify(onError, event);
    },
    dispose() {
      if (timer != null) {
        clearTimeout(timer);
        timer = null;
      }
      reportDrops();
    }
  };
}
function getConsoleSink(options = {}) {
  const formatter = options.formatter ?? defaultConsoleFormatter;
  const levelMap = {
    trace: "debug",
    debug: "debug",
    info: "info",
    warning: "warn",
    error: "error",
    fatal: "error",
    ...options.levelMap ?? {}
  };
  const console = options.console ?? globalThis.console;
  const writeToConsole = (record, args) => {
    const method = levelMap[record.level];
    if (method === void 0) throw new TypeError(`Invalid log level: ${record.level}.`);
    if (typeof args === "string") {
      const msg = args.replace(/\r?\n$/, "");
      console[method](msg);
    } else console[method](...args);
  };
  const baseSink = (record) => {
    writeToConsole(record, formatter(record));
  };
  if (!options.nonBlocking) return baseSink;
  const nonBlockingConfig = options.nonBlocking === true ? {} : options.nonBlocking;
  const bufferSize = nonBlockingConfig.bufferSize ?? 100;
  const flushInterval = nonBlockingConfig.flushInterval ?? 100;
  const notifications = createSinkNotifications("console", flushInterval, nonBlockingConfig.onDrop, nonBlockingConfig.onError);
  const buffer = [];
  let flushTimer = null;
  let scheduledFlushTimer = null;
  let disposed = false;
  let flushScheduled = false;
  const maxBufferSize = bufferSize * 2;
  function flush() {
    if (buffer.length === 0) return;
    const records = buffer.splice(0);
    for (const record of records) {
      let operation = "format";
      try {
        const args = formatter(record);
        operation = "write";
        writeToConsole(record, args);
      } catch (error) {
        notifications.error(error, operation);
      }
    }
  }
  function scheduleFlush() {
    if (flushScheduled) return;
    flushScheduled = true;
    scheduledFlushTimer = setTimeout(() => {
      scheduledFlushTimer = null;
      flushScheduled = false;
      flush();
    }, 0);
  }
  function startFlushTimer() {
    if (flushTimer !== null || disposed) return;
    flushTimer = setInterval(() => {
      flush();
    }, flushInterval);
  }
  const nonBlockingSink = (record) => {
    if (disposed || notifications.notifying) return;
    if (buffer.length >= maxBufferSize && buffer.length > 0) {
      buffer.shift();
      notifications.drop();
    }
    buffer.push(record);
    if (buffer.length >= bufferSize) scheduleFlush();
    else if (flushTimer === null) startFlushTimer();
  };
  nonBlockingSink[disposeSymbol] = () => {
    if (disposed) return;
    disposed = true;
    if (flushTimer !== null) {
      clearInterval(flushTimer);
      flushTimer = null;
    }
    if (scheduledFlushTimer !== null) {
      clearTimeout(scheduledFlushTimer);
      scheduledFlushTimer = null;
      flushScheduled = false;
    }
    notifications.dispose();
    flush();
  };
  return nonBlockingSink;
}
var _asyncSinkError = Symbol.for("logtape.asyncSinkError");

// npm:@logtape/logtape/2.4.2/dist/config.js
var currentConfig = null;
var activeScopedConfigCount = 0;
var globalConfigMutationInProgress = false;
var strongRefs = /* @__PURE__ */ new Set();
var installedSinks = /* @__PURE__ */ new Set();
var inspectionStateSymbol = Symbol.for("logtape.inspectionState");
function getInspectionState() {
  const registry = globalThis;
  const state = registry[inspectionStateSymbol];
  if (state != null && state.loggers instanceof WeakMap) return state;
  const newState = {
    configured: false,
    loggers: /* @__PURE__ */ new WeakMap()
  };
  registry[inspectionStateSymbol] = newState;
  return newState;
}
var filterDisposables = /* @__PURE__ */ new Set();
var sinkDisposables = /* @__PURE__ */ new Set();
var asyncFilterDisposables = /* @__PURE__ */ new Set();
var asyncSinkDisposables = /* @__PURE__ */ new Set();
var unregisterDisposeHook;
function getSourceLocationRoot() {
  return LoggerImpl.getLogger();
}
function isLoggerConfigMeta(cfg) {
  const category = Array.isArray(cfg.category) ? cfg.category : [
    cfg.category
  ];
  return category.length === 0 || category.length === 1 && category[0] === "logtape" || category.length === 2 && category[0] === "logtape" && category[1] === "meta";
}
function registerDisposeHook(allowAsync) {
  unregisterDisposeHook?.();
  unregisterDisposeHook = void 0;
  const handler = allowAsync ? disposeInternal : disposeSyncInternal;
  if (typeof globalThis.EdgeRuntime !== "string" && "process" in globalThis && !("Deno" in globalThis)) {
    const proc = globalThis.process;
    const onMethod = proc?.["on"];
    if (typeof onMethod === "function") {
      onMethod.call(proc, "exit", handler);
      unregisterDisposeHook = () => {
        const offMethod = proc?.["off"] ?? proc?.["removeListener"];
        if (typeof offMethod === "function") offMethod.call(proc, "exit", handler);
      };
      return;
    }
  }
  const addEventListenerMethod = globalThis.addEventListener;
  if (typeof addEventListenerMethod !== "function") return;
  const removeEventListenerMethod = globalThis.removeEventListener;
  if ("Deno" in globalThis) {
    addEventListenerMethod.call(globalThis, "unload", handler);
    if (typeof removeEventListenerMethod === "function") unregisterDisposeHook = () => {
      removeEventListenerMethod.call(globalThis, "unload", handler);
    };
  } else {
    addEventListenerMethod.call(globalThis, "pagehide", handler);
    if (typeof removeEventListenerMethod === "function") unregisterDisposeHook = () => {
      removeEventListenerMethod.call(globalThis, "pagehide", handler);
    };
  }
}
function configureSync(config) {
  runGlobalConfigMutationSync("configureSync()", () => {
    if (currentConfig != null && !config.reset) throw new ConfigError("Already configured; if you want to reset, turn on the reset flag.");
    if (asyncFilterDisposables.size > 0 || asyncSinkDisposables.size > 0) throw new ConfigError("Previously configured async disposables are still active. Use configure() instead or explicitly dispose them using dispose().");
    disposeSyncInternal();
    resetInternal();
    try {
      configureInternal(config, false);
    } catch (e) {
      if (e instanceof ConfigError) {
        disposeSyncInternal();
        resetInternal();
      }
      throw e;
    }
  });
}
function configureInternal(config, allowAsync) {
  currentConfig = config;
  getInspectionState().configured = true;
  let metaConfigured = false;
  let capturesSourceLocation = false;
  const configuredCategories = /* @__PURE__ */ new Set();
  for (const cfg of config.loggers) {
    if (isLoggerConfigMeta(cfg)) metaConfigured = true;
    const categoryKey2 = Array.isArray(cfg.category) ? JSON.stringify(cfg.category) : JSON.stringify([
      cfg.category
    ]);
    if (configuredCategories.has(categoryKey2)) throw new ConfigError(`Duplicate logger configuration for category: ${categoryKey2}. Each category can only be configured once.`);
    configuredCategories.add(categoryKey2);
    const logger2 = LoggerImpl.getLogger(cfg.category);
    for (const sinkId of cfg.sinks ?? []) {
      const sink = config.sinks[sinkId];
      if (!sink) throw new ConfigError(`Sink not found: ${sinkId}.`);
      logger2.sinks.push(sink);
    }
    logger2.parentSinks = cfg.parentSinks ?? "inherit";
    if (cfg.lowestLevel !== void 0) logger2.lowestLevel = cfg.lowestLevel;
    if (cfg.captureSourceLocation !== void 0) {
      if (typeof cfg.captureSourceLocation !== "boolean") throw new ConfigError("Logger captureSourceLocation must be a boolean.");
      logger2.sourceLocationCapture = cfg.captureSourceLocation;
      if (cfg.captureSourceLocation) capturesSourceLocation = true;
    }
    for (const filterId of cfg.filters ?? []) {
      const filter = config.filters?.[filterId];
      if (filter === void 0) throw new ConfigError(`Filter not found: ${filterId}.`);
      logger2.filters.push(toFilter(filter));
    }
    getInspectionState().loggers.set(logger2, {
      sinks: [
        ...logger2.sinks
      ],
      sinkIds: [
        ...cfg.sinks ?? []
      ],
      filters: [
        ...logger2.filters
      ],
      filterIds: [
        ...cfg.filters ?? []
      ]
    });
    strongRefs.add(logger2);
  }
  LoggerImpl.getLogger().contextLocalStorage = config.contextLocalStorage;
  getSourceLocationRoot().setGlobalSourceLocationCapture?.(capturesSourceLocation);
  for (const sink of Object.values(config.sinks)) {
    installedSinks.add(sink);
    if (asyncDisposeSymbol in sink) if (allowAsync) asyncSinkDisposables.add(sink);
    else throw new ConfigError("Async disposables cannot be used with configureSync().");
    if (disposeSymbol in sink) sinkDisposables.add(sink);
  }
  for (const filter of Object.values(config.filters ?? {})) {
    if (filter == null || typeof filter === "string") continue;
    if (asyncDisposeSymbol in filter) {
      if (allowAsync) asyncFilterDisposables.add(filter);
      else throw new ConfigError("Async disposables cannot be used with configureSync().");
      asyncSinkDisposables.delete(filter);
    }
    if (disposeSymbol in filter) {
      filterDisposables.add(filter);
      sinkDisposables.delete(filter);
    }
  }
  registerDisposeHook(allowAsync);
  const meta = LoggerImpl.getLogger([
    "logtape",
    "meta"
  ]);
  if (!metaConfigured) meta.sinks.push(getConsoleSink());
  meta.info("LogTape loggers are configured.  Note that LogTape itself uses the meta logger, which has category {metaLoggerCategory}.  The meta logger is used to log internal diagnostics such as sink exceptions.  It's recommended to configure the meta logger with a separate sink so that you can easily notice if logging itself fails or is misconfigured.  To turn off this message, configure the meta logger with higher log levels than {dismissLevel}.  See also <https://logtape.org/manual/categories#meta-logger>.", {
    metaLoggerCategory: [
      "logtape",
      "meta"
    ],
    dismissLevel: "info"
  });
}
function resetSync() {
  runGlobalConfigMutationSync("resetSync()", () => {
    disposeSyncInternal();
    resetInternal();
  });
}
function resetInternal() {
  unregisterDisposeHook?.();
  unregisterDisposeHook = void 0;
  const rootLogger = LoggerImpl.getLogger([]);
  rootLogger.resetDescendants();
  getSourceLocationRoot().setGlobalSourceLocationCapture?.(false);
  delete rootLogger.contextLocalStorage;
  strongRefs.clear();
  installedSinks.clear();
  const inspectionState = getInspectionState();
  inspectionState.configured = false;
  inspectionState.loggers = /* @__PURE__ */ new WeakMap();
  currentConfig = null;
}
async function disposeInternal() {
  const errors = [];
  try {
    disposeSyncFilters();
  } catch (error) {
    errors.push(error);
  }
  try {
    await disposeAsyncFilters();
  } catch (error) {
    errors.push(error);
  }
  try {
    disposeSyncSinks();
  } catch (error) {
    errors.push(error);
  }
  try {
    await disposeAsyncSinks();
  } catch (error) {
    errors.push(error);
  }
  throwDisposeErrors(errors);
}
function disposeSyncInternal() {
  const errors = [];
  try {
    disposeSyncFilters();
  } catch (error) {
    errors.push(error);
  }
  try {
    disposeSyncSinks();
  } catch (error) {
    errors.push(error);
  }
  throwDisposeErrors(errors);
}
function runGlobalConfigMutationSync(functionName, callback) {
  assertCanMutateGlobalConfig(functionName);
  globalConfigMutationInProgress = true;
  try {
    return callback();
  } finally {
    globalConfigMutationInProgress = false;
  }
}
function assertCanMutateGlobalConfig(functionName) {
  if (globalConfigMutationInProgress) throw new ConfigError(`${functionName} cannot be called while LogTape is being reconfigured.`);
  assertNoScopedConfig(functionName);
}
function assertNoScopedConfig(functionName) {
  if (activeScopedConfigCount > 0) throw new ConfigError(`${functionName} cannot be called while a scoped configuration is active. Use nested withConfig() instead.`);
}
function disposeSyncFilters() {
  disposeSyncDisposables(filterDisposables);
}
function disposeSyncSinks() {
  disposeSyncDisposables(sinkDisposables);
}
function disposeSyncDisposables(disposables) {
  const errors = [];
  try {
    for (const disposable of disposables) try {
      disposable[disposeSymbol]();
    } catch (error) {
      errors.push(error);
    } finally {
      disposables.delete(disposable);
    }
  } finally {
    disposables.clear();
  }
  throwDisposeErrors(errors);
}
async function disposeAsyncFilters() {
  await disposeAsyncDisposables(asyncFilterDisposables);
}
async function disposeAsyncSinks() {
  await disposeAsyncDisposables(asyncSinkDisposables);
}
async function disposeAsyncDisposables(disposables) {
  const promises = [];
  try {
    for (const disposable of disposables) try {
      promises.push(Promise.resolve(disposable[asyncDisposeSymbol]()));
    } catch (error) {
      promises.push(Promise.reject(error));
    } finally {
      disposables.delete(disposable);
    }
  } finally {
    disposables.clear();
  }
  await settleDisposePromises(promises);
}
async function settleDisposePromises(promises) {
  const results = await Promise.allSettled(promises);
  throwDisposeErrors(results.filter((result) => result.status === "rejected").map((result) => result.reason));
}
function throwDisposeErrors(errors) {
  if (errors.length < 1) return;
  if (errors.length === 1) throw errors[0];
  throw new AggregateError(errors, "Multiple errors occurred while disposing LogTape resources.");
}
var ConfigError = class extends Error {
  /**
  * Constructs a new configuration error.
  * @param message The error message.
  */
  constructor(message) {
    super(message);
    this.name = "ConfigError";
  }
};

// lib/write_all.ts
var WriteError = class extends Error {
  /** Bytes that had been written before the failure. */
  written;
  /**
   * Makes the error for a write that failed part-way.
   *
   * @param message Names the peer and the failure.
   * @param written Bytes written before the failure.
   * @param options The original error as `cause`.
   */
  constructor(message, written, options) {
    super(message, options);
    this.name = "WriteError";
    this.written = written;
  }
};
function writeAll(writer, bytes, peer = "peer") {
  return writeRest(writer, bytes, peer, void 0);
}
async function writeRest(writer, bytes, peer, first) {
  let written = 0;
  let underWay = first;
  while (written < bytes.byteLength) {
    let n;
    try {
      n = await (underWay ?? writer.write(written === 0 ? bytes : bytes.subarray(written)));
    } catch (error) {
      throw new WriteError(`write to ${nameOf(peer)} failed after ${written} of ${bytes.byteLength} bytes`, written, {
        cause: error
      });
    }
    underWay = void 0;
    if (n <= 0) {
      throw new WriteError(`write to ${nameOf(peer)} took no bytes`, written);
    }
    written += n;
  }
}
function nameOf(peer) {
  return typeof peer === "string" ? peer : peer.peer;
}
function writeAllSync(writer, bytes) {
  let written = 0;
  while (written < bytes.byteLength) {
    const n = writer.writeSync(bytes.subarray(written));
    if (n <= 0) throw new WriteError("synchronous write took no bytes", written);
    written += n;
  }
}

// lib/log.ts
var enabled = /* @__PURE__ */ new Map();
setLogBackend({
  write: (category, level, message, properties) => getLogger(category)[level](message, properties),
  isEnabledFor: (category, level) => {
    let levels = enabled.get(category);
    if (!levels) enabled.set(category, levels = {});
    return levels[level] ??= getLogger(category).isEnabledFor(level);
  }
});
var LOGTAPE_LEVEL = RECORD_LEVEL;
var encoder = new TextEncoder();
function configureLogging(settings) {
  const format = settings.format === "json" ? jsonLinesFormatter : getTextFormatter({
    timestamp: "rfc3339",
    category: ".",
    value: "bare"
  });
  const stderrSink = (record) => {
    writeAllSync(Deno.stderr, encoder.encode(format(record)));
  };
  resetSync();
  enabled.clear();
  configureSync({
    sinks: {
      stderr: stderrSink
    },
    loggers: [
      {
        category: [
          "servidor"
        ],
        lowestLevel: LOGTAPE_LEVEL[settings.level],
        sinks: [
          "stderr"
        ]
      },
      {
        category: [
          "logtape",
          "meta"
        ],
        lowestLevel: "warning",
        sinks: [
          "stderr"
        ]
      }
    ]
  });
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
  constructor(service, maxLine, onRequest) {
    this.#service = service;
    this.#framer = service.framing === "lines" ? new LineFramer(maxLine) : void 0;
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
    const service = this.#service;
    if (service.framing === "lines") return this.#inputLines(service, chunk);
    if (!this.#onRequest) return service.data(this.session, chunk);
    return this.#timedData(service, chunk, this.#onRequest);
  }
  async #timedData(service, chunk, onRequest) {
    const started = performance.now();
    await service.data(this.session, chunk);
    onRequest((performance.now() - started) / 1e3);
  }
  async #inputLines(service, chunk) {
    let lines;
    let tooLong;
    try {
      lines = this.#framer.push(chunk);
    } catch (error) {
      if (!(error instanceof LineTooLongError)) throw error;
      lines = error.linesBefore;
      tooLong = error;
    }
    const session = this.session;
    const onRequest = this.#onRequest;
    let turnStarted = performance.now();
    for (const line of lines) {
      if (performance.now() - turnStarted >= YIELD_AFTER_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turnStarted = performance.now();
      }
      if (session.signal.aborted) return;
      const started = onRequest ? performance.now() : 0;
      await service.line(session, line);
      onRequest?.((performance.now() - started) / 1e3);
    }
    if (tooLong && !session.signal.aborted) await this.#refuse(session, tooLong);
  }
  /**
   * The client finished sending: a last line without a newline is still
   * answered, then the service's `end()` runs.
   */
  async endInput() {
    const service = this.#service;
    const session = this.session;
    if (session.signal.aborted) return;
    if (service.framing === "lines") {
      const last = this.#framer.finish();
      if (last !== void 0) {
        const started = performance.now();
        await service.line(session, last);
        this.#onRequest?.((performance.now() - started) / 1e3);
      }
    }
    await service.end?.(session);
  }
  /** Waits for `open()` to end, then calls the service's `close()`. */
  async finish() {
    if (this.#opening) await this.#opening;
    await this.#service.close?.(this.session);
  }
  async #refuse(session, error) {
    try {
      await session.sendLine(`ERR ${error.message}`);
    } finally {
      session.close();
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
  constructor(service, session, maxLine, onRequest) {
    super(service, maxLine, onRequest);
    this.#session = session;
  }
  get session() {
    return this.#session;
  }
};

// services/pinned_copy.ts
function loadablePinnedCopy(sources) {
  const ours = /* @__PURE__ */ new Map();
  let entry = "";
  for (const { url, type, text } of sources.modules) {
    let local = text;
    for (const [theirs, mine] of ours) local = local.replaceAll(theirs, mine);
    entry = URL.createObjectURL(new Blob([
      local
    ], {
      type
    }));
    ours.set(url, entry);
  }
  return entry;
}

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
function ucspiEnvironment(session) {
  const { remoteAddr, localAddr } = session;
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
    async open(session) {
      let child;
      try {
        child = new Deno.Command(command, {
          args: [
            ...args
          ],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
          env: ucspiEnvironment(session)
        }).spawn();
      } catch (error) {
        throw new Error(`cannot run ${command}`, {
          cause: error
        });
      }
      running.set(session, {
        stdin: child.stdin.getWriter()
      });
      log2.debug("{peer} started {command} pid={pid}", {
        peer: session.peer,
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
      session.signal.addEventListener("abort", stop, {
        once: true
      });
      const status = child.status.then((status2) => {
        exited = true;
        clearTimeout(killTimer);
        return status2;
      });
      try {
        const logging = logStderr(errors, session.peer, command);
        await sendOutput(output, session);
        await logging;
        const { code, signal } = await status;
        log2.debug("{peer} {command} exited code={code} signal={signal}", {
          peer: session.peer,
          command: commandLine,
          code,
          signal
        });
      } finally {
        session.signal.removeEventListener("abort", stop);
        if (!exited) stop();
        await status;
        running.get(session)?.stdin.abort().catch(() => {
        });
        running.delete(session);
        session.close();
      }
    },
    async data(session, chunk) {
      const stdin = running.get(session)?.stdin;
      if (!stdin) return;
      try {
        await stdin.write(chunk);
      } catch (error) {
        if (!isDisconnect(error)) throw error;
      }
    },
    async end(session) {
      const stdin = running.get(session)?.stdin;
      if (stdin) await stdin.close().catch(() => {
      });
      await untilAborted(session.signal);
    }
  };
}
async function sendOutput(output, session) {
  try {
    for (let read = await output.read(); !read.done; read = await output.read()) {
      await session.send(read.value);
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
  async open(session) {
    while (!session.signal.aborted) await session.send(CYCLE);
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
function nickOf(session) {
  return nicks.get(session) ?? `guest${session.id}`;
}
async function handleCommand(session, command, argument) {
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
      const taken = !sameName(argument, nickOf(session)) && (await session.who()).some((peer) => sameName(peer.name, argument));
      if (taken) {
        await session.sendLine(`ERR nick ${argument} is taken`);
        return;
      }
      const old = nickOf(session);
      nicks.set(session, argument);
      session.setName(argument);
      session.broadcast(`* ${old} is now ${argument}\r
`);
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
var chat = {
  name: "chat",
  description: "line chat for every client: /nick NAME, /who, /quit",
  framing: "lines",
  async open(session) {
    const nick = nickOf(session);
    session.broadcast(`* ${nick} joined\r
`);
    await session.sendLine(`* welcome, ${nick}; commands: /nick NAME, /who, /quit`);
  },
  async line(session, line) {
    if (line.trim() === "") return;
    if (line.startsWith("/")) {
      const [command = "", ...rest] = line.trim().split(/\s+/);
      await handleCommand(session, command, rest.join(" "));
      return;
    }
    await session.broadcast(`<${nickOf(session)}> ${neutralise(line)}\r
`);
  },
  departed(peer) {
    return `* ${peer.name} left\r
`;
  },
  close(session) {
    session.broadcast(`* ${nickOf(session)} left\r
`);
    nicks.delete(session);
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
  async line(session, line) {
    const request = parseComputeRequest(line);
    if (typeof request === "string") return session.sendLine(request);
    await loadHashing();
    return session.sendLine(sha256Rounds(request.rounds, request.text));
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
  async open(session) {
    await session.sendLine(formatDaytime(/* @__PURE__ */ new Date()));
    session.close();
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
  data: (session, chunk) => session.send(chunk)
};

// services/reverse.ts
function reverseText(text) {
  return Array.from(text).reverse().join("");
}
var reverse = {
  name: "reverse",
  description: "answers each line with its characters reversed",
  framing: "lines",
  line: (session, line) => session.sendLine(reverseText(line))
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

// strategies/processes/frames.ts
var DATA = 0;
var BROADCAST = 1;
var CONTROL = 2;
var HEADER_BYTES = 5;
var MAX_FRAME_BYTES = 16 * 1024 * 1024;
var encoder2 = new TextEncoder();
var SENT = Promise.resolve();
var decoder = new TextDecoder();
var FrameError = class extends Error {
  constructor(message) {
    super(message);
    this.name = "FrameError";
  }
};
function readHeader(bytes, at) {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
  const kind = view.getUint8(0);
  const length = view.getUint32(1);
  if (kind > CONTROL || length > MAX_FRAME_BYTES) {
    throw new FrameError(`a frame of kind ${kind} and ${length} bytes is not ours`);
  }
  return {
    kind,
    length
  };
}
var FrameReader = class {
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /**
   * Takes the next chunk of the stream and returns the frames it completed.
   *
   * @param chunk Copied, unless `owned`; the caller may then reuse it.
   * @param owned The chunk is the reader's to keep (a stream's fresh chunk):
   *   frames wholly inside it are views of it, not copies, which spares a
   *   copy of every byte on the way from a child to its client.
   * @throws {FrameError} For a length no frame of ours has.
   */
  push(chunk, owned = false) {
    const frames = [];
    if (owned && this.#start === this.#end) chunk = this.#takeWhole(chunk, frames);
    this.#append(chunk);
    for (; ; ) {
      const available = this.#end - this.#start;
      if (available < HEADER_BYTES) break;
      const { kind, length } = readHeader(this.#buffer, this.#start);
      if (available < HEADER_BYTES + length) break;
      const from = this.#start + HEADER_BYTES;
      frames.push({
        kind,
        payload: this.#buffer.slice(from, from + length)
      });
      this.#start = from + length;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frames;
  }
  /** Cuts the whole frames at the start of `chunk` as views; returns what is left. */
  #takeWhole(chunk, frames) {
    let at = 0;
    while (chunk.byteLength - at >= HEADER_BYTES) {
      const { kind, length } = readHeader(chunk, at);
      if (chunk.byteLength - at < HEADER_BYTES + length) break;
      const from = at + HEADER_BYTES;
      frames.push({
        kind,
        payload: chunk.subarray(from, from + length)
      });
      at = from + length;
    }
    return chunk.subarray(at);
  }
  /** Whether a frame has begun and not ended: a stream that ends now ends mid-frame. */
  get partial() {
    return this.#end > this.#start;
  }
  #append(chunk) {
    const needed = this.#end - this.#start + chunk.byteLength;
    if (this.#end + chunk.byteLength > this.#buffer.byteLength) {
      if (needed > this.#buffer.byteLength) {
        const larger = new Uint8Array(Math.max(needed, this.#buffer.byteLength * 2, 4096));
        larger.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = larger;
      } else {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      }
      this.#end -= this.#start;
      this.#start = 0;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.byteLength;
  }
};
function parseControl(payload) {
  return JSON.parse(decoder.decode(payload));
}
var FrameWriter = class {
  #writer;
  #queue = [];
  #writing = false;
  #failed;
  #last = Promise.resolve();
  #timer;
  #window;
  /** Bytes queued or being written. */
  #unwritten = 0;
  /**
   * @param writer The pipe.
   * @param window Bytes that may wait to be written while their frames
   *   count as sent; beyond it, a frame's promise waits for its write.
   */
  constructor(writer, window = 64 * 1024) {
    this.#writer = writer;
    this.#window = window;
  }
  /**
   * Queues one frame; its payload is copied now.
   *
   * @param kind What it holds.
   * @param payload The bytes.
   */
  frame(kind, payload) {
    if (this.#failed !== void 0) return Promise.reject(this.#failed);
    const bytes = new Uint8Array(HEADER_BYTES + payload.byteLength);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, kind);
    view.setUint32(1, payload.byteLength);
    bytes.set(payload, HEADER_BYTES);
    const { promise, resolve, reject } = Promise.withResolvers();
    const withinWindow = this.#unwritten + bytes.byteLength <= this.#window;
    this.#unwritten += bytes.byteLength;
    this.#queue.push({
      bytes,
      resolve,
      reject
    });
    if (!this.#writing && this.#timer === void 0) {
      this.#timer = setTimeout(() => this.flush(), 0);
    }
    this.#last = promise.catch(() => {
    });
    return withinWindow ? SENT : promise;
  }
  /**
   * Queues one control message.
   *
   * @param message Anything JSON can carry.
   */
  control(message) {
    return this.frame(CONTROL, encoder2.encode(JSON.stringify(message)));
  }
  /** Resolves once everything queued so far is written, or has failed. */
  flushed() {
    this.flush();
    return this.#last;
  }
  /** Starts writing what is queued now, rather than a macrotask later. */
  flush() {
    clearTimeout(this.#timer);
    this.#timer = void 0;
    if (!this.#writing && this.#queue.length > 0) void this.#write();
  }
  async #write() {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        const bytes = batch.length === 1 ? batch[0].bytes : concat(batch);
        try {
          await writeAll(this.#writer, bytes, "the other process");
        } catch (error) {
          this.#failed = error;
          for (const pending of [
            ...batch,
            ...this.#queue
          ]) pending.reject(error);
          this.#queue = [];
          return;
        }
        this.#unwritten -= bytes.byteLength;
        for (const pending of batch) pending.resolve();
      }
    } finally {
      this.#writing = false;
    }
  }
};
function concat(batch) {
  let length = 0;
  for (const pending of batch) length += pending.bytes.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const pending of batch) {
    joined.set(pending.bytes, offset);
    offset += pending.bytes.byteLength;
  }
  return joined;
}

// strategies/processes/child.ts
var CHILD_COMMAND = "__servidor_process_child";
var encoder3 = new TextEncoder();
var PipeSession = class {
  id;
  peer;
  remoteAddr;
  localAddr;
  #out;
  #closing = new AbortController();
  #pendingWho = /* @__PURE__ */ new Map();
  #nextRequest = 0;
  constructor(opening, out) {
    this.id = opening.id;
    this.peer = opening.peer;
    this.remoteAddr = opening.remoteAddr;
    this.localAddr = opening.localAddr;
    this.#out = out;
  }
  get signal() {
    return this.#closing.signal;
  }
  /** Resolves once the pipe has taken the bytes: a full pipe is a client that does not read. */
  send(data) {
    if (this.signal.aborted) return Promise.reject(new ConnectionClosedError(this.peer));
    const bytes = typeof data === "string" ? encoder3.encode(data) : data;
    return this.#out.frame(DATA, bytes).catch(() => {
      throw new ConnectionClosedError(this.peer);
    });
  }
  sendLine(text) {
    return this.send(`${text}\r
`);
  }
  broadcast(data) {
    const bytes = typeof data === "string" ? encoder3.encode(data) : data;
    this.#out.frame(BROADCAST, bytes).catch(() => {
    });
  }
  setName(name) {
    control(this.#out, {
      type: "name",
      name
    });
  }
  who() {
    if (this.signal.aborted) return Promise.resolve([]);
    const request = ++this.#nextRequest;
    return new Promise((resolve) => {
      this.#pendingWho.set(request, resolve);
      control(this.#out, {
        type: "who",
        request
      });
    });
  }
  close() {
    control(this.#out, {
      type: "close"
    });
  }
  answerWho(request, peers) {
    this.#pendingWho.get(request)?.(peers);
    this.#pendingWho.delete(request);
  }
  /** The connection is gone, or the service is done: later sends fail, `who` gets nobody. */
  end() {
    this.#closing.abort();
    for (const answer of this.#pendingWho.values()) answer([]);
    this.#pendingWho.clear();
  }
};
function control(out, message) {
  out.control(message).catch(() => {
  });
}
async function runProcessChild() {
  const out = new FrameWriter(Deno.stdout);
  const frames = readFrames(Deno.stdin);
  const first = await frames.next();
  if (first.done || first.value.kind !== CONTROL) return;
  const opening = parseControl(first.value.payload);
  if (opening.type !== "open") return;
  configureLogging(opening.log);
  const reportFailure = (error) => {
    control(out, failedMessage(error));
  };
  let service;
  try {
    const specifier = opening.pinned ? loadablePinnedCopy(opening.pinned) : opening.service;
    service = await loadService(specifier, opening.serviceArgs);
  } catch (error) {
    reportFailure(error);
    control(out, {
      type: "finished"
    });
    await out.flushed();
    Deno.exit(0);
  }
  if (Deno.build.standalone) await giveUpPermissions(opening);
  control(out, {
    type: "loaded"
  });
  let timings = [];
  const takeTimings = () => {
    if (timings.length === 0) return void 0;
    const taken = timings;
    timings = [];
    return taken;
  };
  const onRequest = opening.timeRequests ? (seconds) => void timings.push(seconds) : void 0;
  const session = new PipeSession(opening, out);
  const driver = new SessionDriver(service, session, opening.maxLine, onRequest);
  const inputs = [];
  let wake;
  let gone = false;
  const serving = (async () => {
    driver.start(reportFailure);
    for (; ; ) {
      const next = inputs.shift();
      if (next === void 0) {
        if (gone) return;
        await new Promise((resolve) => wake = resolve);
        continue;
      }
      if (gone || session.signal.aborted) return;
      if (next === "end") {
        await driver.endInput();
        return;
      }
      try {
        await driver.input(next);
      } catch (error) {
        reportFailure(error);
      }
      control(out, {
        type: "handled",
        bytes: next.byteLength,
        requests: takeTimings()
      });
      out.flush();
    }
  })().catch(reportFailure);
  const onGone = () => {
    gone = true;
    session.end();
    wake?.();
  };
  const reading = (async () => {
    for await (const frame of frames) {
      if (frame.kind === DATA) {
        inputs.push(frame.payload);
        wake?.();
        continue;
      }
      if (frame.kind !== CONTROL) continue;
      const message = parseControl(frame.payload);
      if (message.type === "who") {
        session.answerWho(message.request, message.peers);
      } else if (message.type === "end") {
        inputs.push("end");
        wake?.();
      } else if (message.type === "closed") {
        onGone();
        return;
      }
    }
    onGone();
  })();
  await Promise.race([
    serving,
    reading
  ]);
  session.end();
  try {
    await driver.finish();
  } catch (error) {
    reportFailure(error);
  }
  control(out, {
    type: "finished",
    requests: takeTimings()
  });
  await out.flushed();
  Deno.exit(0);
}
async function giveUpPermissions(opening) {
  const unneeded = [
    "net",
    "write",
    "env",
    "sys",
    "ffi"
  ];
  if (opening.service !== "exec") unneeded.push("run");
  if (!opening.service.startsWith("file:")) unneeded.push("read");
  for (const name of unneeded) await Deno.permissions.revoke({
    name
  });
}
async function* readFrames(input) {
  const reader = new FrameReader();
  const buffer = new Uint8Array(64 * 1024);
  for (; ; ) {
    let n;
    try {
      n = await input.read(buffer);
    } catch {
      return;
    }
    if (n === null) return;
    yield* reader.push(buffer.subarray(0, n));
  }
}
if (import.meta.main) await runProcessChild();
export {
  CHILD_COMMAND,
  runProcessChild
};
