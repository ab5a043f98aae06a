import { describe, expect, it } from "vitest";
import { defaultBuilder, fromCron, toCron, until } from "./cron";

describe("cron builder", () => {
  it("writes each shape as 5-field cron", () => {
    const b = defaultBuilder();
    expect(toCron({ ...b, kind: "minutes", everyMinutes: 15 })).toBe("*/15 * * * *");
    expect(toCron({ ...b, kind: "hourly", minute: 30 })).toBe("30 * * * *");
    expect(toCron({ ...b, kind: "daily", hour: 4, minute: 5 })).toBe("5 4 * * *");
    expect(toCron({ ...b, kind: "weekly", hour: 2, minute: 0, weekdays: [5, 1, 5] })).toBe("0 2 * * 1,5");
    expect(toCron({ ...b, kind: "monthly", hour: 3, minute: 0, dayOfMonth: 1 })).toBe("0 3 1 * *");
    expect(toCron({ ...b, kind: "custom", custom: " */10 * * * * * " })).toBe("*/10 * * * * *");
  });
  it("keeps values in range", () => {
    const b = defaultBuilder();
    expect(toCron({ ...b, kind: "daily", hour: 27, minute: -3 })).toBe("0 23 * * *");
    expect(toCron({ ...b, kind: "minutes", everyMinutes: 0 })).toBe("*/1 * * * *");
  });
  it("reads back what it writes and leaves anything else custom", () => {
    for (const cron of ["*/15 * * * *", "30 * * * *", "5 4 * * *", "0 2 * * 1,5", "0 3 1 * *"]) {
      const b = fromCron(cron);
      expect(b.kind).not.toBe("custom");
      expect(toCron(b)).toBe(cron);
    }
    for (const cron of ["*/10 * * * * *", "@daily", "0 4 * * 1-5", "0 4 1 1 *", "00 4 * * *"]) {
      expect(fromCron(cron)).toMatchObject({ kind: "custom", custom: cron });
    }
  });
});

describe("until", () => {
  const now = new Date("2026-12-05T08:00:00Z");
  it("says the two largest units in either language", () => {
    expect(until(new Date("2026-12-05T08:05:00Z"), now, "en")).toBe("in 5 min");
    expect(until(new Date("2026-12-05T11:20:30Z"), now, "en")).toBe("in 3 h 20 min");
    expect(until(new Date("2026-12-07T12:00:00Z"), now, "zh-CN")).toBe("2 天 4 小时后");
    expect(until(new Date("2026-12-05T08:00:09Z"), now, "zh-CN")).toBe("9 秒后");
  });
  it("says now for a time already here", () => {
    expect(until(now, now, "en")).toBe("now");
    expect(until(new Date("2026-12-05T07:59:00Z"), now, "zh-CN")).toBe("现在");
  });
});
