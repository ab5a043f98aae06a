import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { OverlapPolicy, ScheduleSchema } from "../gen/backup/v1/schedule_pb";
import { changedPaths, formOf, scheduleOf, selectorOf, selectsNothing, splitDuration, updatePaths } from "./schedule";

const stored = create(ScheduleSchema, {
  scheduleId: "0b6c3c9e-1111-4222-8333-444455556666",
  name: "gamesvr logs",
  bkBizId: 3n,
  selector: { bkHostIds: [11n], cloudIps: ["0:10.0.1.12"], bkModuleIds: [31n], bkSetIds: [2n] },
  bkFileDir: "/data/logs",
  bkFileSuffix: "log",
  spec: {
    cron: "0 4 * * *",
    timeZone: "Asia/Shanghai",
    startTime: { seconds: 1_800_000_000n, nanos: 0 },
    jitter: { seconds: 90n, nanos: 0 },
  },
  overlapPolicy: OverlapPolicy.BUFFER_ONE,
  catchUpWindow: { seconds: 7200n, nanos: 0 },
  pauseAfterFailures: 3,
  runTimeout: { seconds: 1800n, nanos: 0 },
  retention: { keepLast: 14, keepWithin: { seconds: 1_209_600n, nanos: 0 } },
});

describe("schedule form", () => {
  it("shows a duration in the largest unit that divides it exactly", () => {
    expect(splitDuration(0)).toEqual({ value: 0, unit: "min" });
    expect(splitDuration(90)).toEqual({ value: 90, unit: "s" });
    expect(splitDuration(1800)).toEqual({ value: 30, unit: "min" });
    expect(splitDuration(7200)).toEqual({ value: 2, unit: "h" });
    expect(splitDuration(1_209_600)).toEqual({ value: 14, unit: "d" });
  });

  it("reads every field a caller sets and writes them back unchanged", () => {
    const f = formOf(stored);
    expect(f.hosts).toBe("11, 0:10.0.1.12");
    expect(f.nodes).toEqual(["s2", "m31"]);
    expect([f.jitter, f.catchUp, f.runTimeout, f.keepWithin]).toEqual([90, 7200, 1800, 1_209_600]);
    const { selector, bad } = selectorOf(f);
    expect(bad).toEqual([]);
    const body = scheduleOf(f, 3n, selector);
    expect(body.selector).toEqual({ bkHostIds: [11n], cloudIps: ["0:10.0.1.12"], bkSetIds: [2n], bkModuleIds: [31n] });
    expect(body.spec.startTime?.seconds).toBe(1_800_000_000n);
    expect(body.spec.endTime).toBeUndefined();
    expect(body.spec.jitter?.seconds).toBe(90n);
    expect(body.catchUpWindow?.seconds).toBe(7200n);
    expect(body.runTimeout?.seconds).toBe(1800n);
    expect(body.pauseAfterFailures).toBe(3);
    expect(body.overlapPolicy).toBe(OverlapPolicy.BUFFER_ONE);
    expect(body.retention?.keepLast).toBe(14);
    expect(body.retention?.keepWithin?.seconds).toBe(1_209_600n);
  });

  it("sends only the paths whose value changed", () => {
    const f = formOf(stored);
    const sel = (x: typeof f) => selectorOf(x).selector;
    const before = scheduleOf(f, 3n, sel(f));
    expect(changedPaths(before, scheduleOf({ ...f }, 3n, sel(f)))).toEqual([]);
    const g = { ...f, catchUp: 0, keepLast: 7, nodes: ["m31"], end: new Date("2027-06-01T00:00:00Z") };
    expect(changedPaths(before, scheduleOf(g, 3n, sel(g)))).toEqual([
      "selector",
      "spec.end_time",
      "catch_up_window",
      "retention",
    ]);
    expect(updatePaths(stored, scheduleOf(f, 3n, sel(f)))).toEqual([]);
    expect(updatePaths(stored, scheduleOf(g, 3n, sel(g)))).toEqual(changedPaths(before, scheduleOf(g, 3n, sel(g))));
  });

  it("a zero or unset retention keeps every backup, and zero durations are left unset", () => {
    const f = { ...formOf(), keepLast: 0, keepWithin: 0, jitter: 0 };
    const body = scheduleOf(f, 3n, { allHosts: true });
    expect(body.retention).toBeUndefined();
    expect(body.spec.jitter).toBeUndefined();
    expect(body.catchUpWindow).toBeUndefined();
  });

  it("splits typed hosts into IDs and cloud:ips and names what is neither", () => {
    const { selector, bad } = selectorOf({ hosts: "11 11, 0:10.0.1.12，0:fd00::1 abc 0", nodes: [], allHosts: false });
    expect(selector.bkHostIds).toEqual([11n]);
    expect(selector.cloudIps).toEqual(["0:10.0.1.12", "0:fd00::1"]);
    expect(bad).toEqual(["abc", "0"]);
    expect(selectsNothing(selectorOf({ hosts: "", nodes: [], allHosts: false }).selector)).toBe(true);
    expect(selectsNothing(selectorOf({ hosts: "", nodes: ["m4"], allHosts: false }).selector)).toBe(false);
    expect(selectorOf({ hosts: "abc", nodes: ["m4"], allHosts: true })).toEqual({ selector: { allHosts: true }, bad: [] });
  });

  it("a new schedule starts daily at 04:00 Shanghai time, keeping 7", () => {
    const f = formOf();
    expect([f.cron, f.zone, f.keepLast, f.overlap]).toEqual(["0 4 * * *", "Asia/Shanghai", 7, OverlapPolicy.SKIP]);
  });
});
