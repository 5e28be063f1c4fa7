// Public surface of the jail logic (pure: no I/O). The daemon builds one Jail per ResolvedJail:
//
//   const jails = resolveJails(readJailConfig(dir), { loadFilter: (spec, values) => loadFilter(dir, spec, values) });
//   const history = new BanHistory();                 // shared: bantime.overalljails; persist history.records()
//   const jail = new Jail(settings, { filter: compileFilter(settings.filter), history, selfAddresses });
//   const { outcome } = jail.processLine(line, nowSeconds);   // outcome.kind === "ban" -> outcome.ban to actions
//   for (const ban of jail.expire(nowSeconds)) { /* unban */ }   // call again at jail.bans.nextExpiry()

export { Jail } from "./jail";
export type { JailOptions, FailureOutcome, JailStatus } from "./jail";
export { BanManager, BanHistory, banDuration, failureWeight } from "./bans";
export type { BanManagerOptions, BanRecord, BanIncrement } from "./bans";
export { FailureCounter } from "./failures";
export type { FailureCounterOptions } from "./failures";
export { IPAddr, IPNetwork, IPSet, normalizeIP, banKey } from "./ipaddr";
export { resolveJails, checkJails } from "./settings";
export type { ResolvedJail, ResolveOptions, JailConfigSource, FilterLoader } from "./settings";
export { parseDuration, parseBool, formatDuration } from "./time";
