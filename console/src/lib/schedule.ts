// The schedule form's model and the Schedule it sends. Every field a caller sets is in the form,
// so an edit made here loses nothing another tool set: durations are kept in whole seconds and
// shown in the largest unit that divides them exactly; hosts are host IDs and `cloud:ip`s typed
// or picked, plus set and module nodes of the topology. An edit sends only the fields whose
// value changed (UpdateSchedule's update_mask), so a concurrent change to another field is kept.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Duration, DurationSchema, type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HostSelectorSchema } from "../gen/backup/v1/types_pb";
import { OverlapPolicy, type Schedule } from "../gen/backup/v1/schedule_pb";

/** A HostSelector as CreateSchedule takes it. */
export type Selector = MessageInitShape<typeof HostSelectorSchema>;

export type Unit = "s" | "min" | "h" | "d";
export const UNIT_SECONDS: Record<Unit, number> = { s: 1, min: 60, h: 3600, d: 86400 };

/** `seconds` as a number of the largest unit that divides it exactly (0 is 0 min). */
export function splitDuration(seconds: number): { value: number; unit: Unit } {
  if (seconds === 0) return { value: 0, unit: "min" };
  for (const unit of ["d", "h", "min"] as const) {
    if (seconds % UNIT_SECONDS[unit] === 0) return { value: seconds / UNIT_SECONDS[unit], unit };
  }
  return { value: seconds, unit: "s" };
}

const seconds = (d: Duration | undefined): number => (d ? Number(d.seconds) : 0);
const duration = (s: number): Duration | undefined =>
  s > 0 ? create(DurationSchema, { seconds: BigInt(Math.round(s)) }) : undefined;
const date = (t: Timestamp | undefined): Date | null => (t ? timestampDate(t) : null);
const stamp = (d: Date | null): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);

export interface ScheduleFields {
  name: string;
  /** Host IDs and `<cloud>:<ip>`s, separated by spaces, commas or new lines. */
  hosts: string;
  /** Topology nodes: `s<bk_set_id>` and `m<bk_module_id>`. */
  nodes: string[];
  allHosts: boolean;
  dir: string;
  suffix: string;
  cron: string;
  zone: string;
  start: Date | null;
  end: Date | null;
  /** The durations, in seconds; 0 for unset. */
  jitter: number;
  catchUp: number;
  runTimeout: number;
  keepWithin: number;
  keepLast: number;
  pauseAfterFailures: number;
  overlap: OverlapPolicy;
}

/** The form for `s`, or a new schedule's defaults. */
export function formOf(s?: Schedule): ScheduleFields {
  const sel = s?.selector;
  return {
    name: s?.name ?? "",
    hosts: sel ? [...sel.bkHostIds.map(String), ...sel.cloudIps].join(", ") : "",
    nodes: sel ? [...sel.bkSetIds.map((id) => `s${id}`), ...sel.bkModuleIds.map((id) => `m${id}`)] : [],
    allHosts: sel?.allHosts ?? false,
    dir: s?.bkFileDir ?? "/data/logs",
    suffix: s?.bkFileSuffix ?? "log",
    cron: s?.spec?.cron ?? "0 4 * * *",
    zone: s?.spec?.timeZone || (s ? "UTC" : "Asia/Shanghai"),
    start: date(s?.spec?.startTime),
    end: date(s?.spec?.endTime),
    jitter: seconds(s?.spec?.jitter),
    catchUp: seconds(s?.catchUpWindow),
    runTimeout: seconds(s?.runTimeout),
    keepWithin: seconds(s?.retention?.keepWithin),
    keepLast: s ? (s.retention?.keepLast ?? 0) : 7,
    pauseAfterFailures: s?.pauseAfterFailures ?? 0,
    overlap: s?.overlapPolicy || OverlapPolicy.SKIP,
  };
}

const ID = /^[1-9]\d{0,17}$/;
const CLOUD_IP = /^\d{1,10}:[0-9A-Fa-f.:]+$/;

/** The hosts of the form as a selector; items that are neither host ID nor cloud:ip in `bad`. */
export function selectorOf(f: Pick<ScheduleFields, "hosts" | "nodes" | "allHosts">): {
  selector: Selector;
  bad: string[];
} {
  if (f.allHosts) return { selector: { allHosts: true }, bad: [] };
  const ids = new Set<string>();
  const ips = new Set<string>();
  const bad: string[] = [];
  for (const item of f.hosts.split(/[\s,，;；]+/)) {
    if (item === "") continue;
    if (ID.test(item)) ids.add(item);
    else if (CLOUD_IP.test(item)) ips.add(item);
    else bad.push(item);
  }
  const of = (prefix: string) => f.nodes.filter((n) => n.startsWith(prefix)).map((n) => BigInt(n.slice(1)));
  return {
    selector: {
      bkHostIds: [...ids].map((id) => BigInt(id)),
      cloudIps: [...ips],
      bkSetIds: of("s"),
      bkModuleIds: of("m"),
    },
    bad,
  };
}

/** Whether the selector names no host at all. */
export const selectsNothing = (s: Selector): boolean =>
  !s.allHosts && !s.bkHostIds?.length && !s.cloudIps?.length && !s.bkSetIds?.length && !s.bkModuleIds?.length;

/** The schedule the form describes, as CreateSchedule and UpdateSchedule take it. */
export function scheduleOf(f: ScheduleFields, bizId: bigint, selector: Selector) {
  const keep = f.keepLast > 0 || f.keepWithin > 0;
  return {
    name: f.name.trim(),
    bkBizId: bizId,
    selector,
    bkFileDir: f.dir.trim(),
    bkFileSuffix: f.suffix.trim(),
    spec: {
      cron: f.cron.trim(),
      timeZone: f.zone,
      startTime: stamp(f.start),
      endTime: stamp(f.end),
      jitter: duration(f.jitter),
    },
    overlapPolicy: f.overlap,
    catchUpWindow: duration(f.catchUp),
    pauseAfterFailures: f.pauseAfterFailures,
    runTimeout: duration(f.runTimeout),
    retention: keep ? { keepLast: f.keepLast, keepWithin: duration(f.keepWithin) } : undefined,
  };
}

type Body = ReturnType<typeof scheduleOf>;

/** The update_mask paths whose value differs between `before` and `after`. */
export function changedPaths(before: Body, after: Body): string[] {
  const fields: [string, (b: Body) => unknown][] = [
    ["name", (b) => b.name],
    ["selector", (b) => b.selector],
    ["bk_file_dir", (b) => b.bkFileDir],
    ["bk_file_suffix", (b) => b.bkFileSuffix],
    ["spec.cron", (b) => b.spec.cron],
    ["spec.time_zone", (b) => b.spec.timeZone],
    ["spec.start_time", (b) => b.spec.startTime],
    ["spec.end_time", (b) => b.spec.endTime],
    ["spec.jitter", (b) => b.spec.jitter],
    ["overlap_policy", (b) => b.overlapPolicy],
    ["catch_up_window", (b) => b.catchUpWindow],
    ["pause_after_failures", (b) => b.pauseAfterFailures],
    ["run_timeout", (b) => b.runTimeout],
    ["retention", (b) => b.retention],
  ];
  return fields.filter(([, get]) => text(get(before)) !== text(get(after))).map(([path]) => path);
}

/** The update_mask paths of `body` that differ from `stored`, read through the same form. */
export function updatePaths(stored: Schedule, body: Body): string[] {
  const read = formOf(stored);
  return changedPaths(scheduleOf(read, stored.bkBizId, selectorOf(read).selector), body);
}

/** A stable text of a value (bigints as decimal, key order as built, `$typeName` left out). */
const text = (v: unknown): string =>
  JSON.stringify(v ?? null, (k, x) => (k === "$typeName" ? undefined : typeof x === "bigint" ? x.toString() : x));
