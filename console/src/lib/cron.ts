// The schedule form's cron builder: common shapes (every N minutes, hourly, daily, weekly,
// monthly) written as the 5-field cron ScheduleSpec takes, or any expression typed in (6 fields
// with leading seconds, @daily, ...). The server is the judge of an expression: PreviewSchedule
// answers its next fire times in the schedule's zone, or the error naming what is wrong.

export type CronKind = "minutes" | "hourly" | "daily" | "weekly" | "monthly" | "custom";

export interface CronBuilder {
  kind: CronKind;
  /** Every this many minutes (kind "minutes"): 1 to 59. */
  everyMinutes: number;
  minute: number;
  hour: number;
  /** 0 = Sunday … 6 = Saturday (kind "weekly"). */
  weekdays: number[];
  /** 1 to 31 (kind "monthly"). */
  dayOfMonth: number;
  custom: string;
}

export const defaultBuilder = (): CronBuilder => ({
  kind: "daily",
  everyMinutes: 15,
  minute: 0,
  hour: 4,
  weekdays: [1],
  dayOfMonth: 1,
  custom: "",
});

/** The cron expression `b` describes. */
export function toCron(b: CronBuilder): string {
  const m = clamp(b.minute, 0, 59);
  const h = clamp(b.hour, 0, 23);
  switch (b.kind) {
    case "minutes":
      return `*/${clamp(b.everyMinutes, 1, 59)} * * * *`;
    case "hourly":
      return `${m} * * * *`;
    case "daily":
      return `${m} ${h} * * *`;
    case "weekly": {
      const days = [...new Set(b.weekdays.map((d) => clamp(d, 0, 6)))].sort((x, y) => x - y);
      return `${m} ${h} * * ${days.length ? days.join(",") : "*"}`;
    }
    case "monthly":
      return `${m} ${h} ${clamp(b.dayOfMonth, 1, 31)} * *`;
    case "custom":
      return b.custom.trim();
  }
}

/** The builder that writes `cron` again, or a custom one holding it as typed. */
export function fromCron(cron: string): CronBuilder {
  const b = { ...defaultBuilder(), kind: "custom" as CronKind, custom: cron.trim() };
  const f = cron.trim().split(/\s+/);
  if (f.length !== 5) return b;
  const [mi, ho, dom, mon, dow] = f as [string, string, string, string, string];
  const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : NaN);
  const every = /^\*\/(\d+)$/.exec(mi);
  let out: CronBuilder = b;
  if (every && ho === "*" && dom === "*" && mon === "*" && dow === "*") {
    out = { ...b, kind: "minutes", everyMinutes: Number(every[1]) };
  } else if (!Number.isNaN(num(mi)) && ho === "*" && dom === "*" && mon === "*" && dow === "*") {
    out = { ...b, kind: "hourly", minute: num(mi) };
  } else if (!Number.isNaN(num(mi)) && !Number.isNaN(num(ho)) && mon === "*") {
    const base = { ...b, minute: num(mi), hour: num(ho) };
    if (dom === "*" && dow === "*") out = { ...base, kind: "daily" };
    else if (dom === "*" && /^\d(,\d)*$/.test(dow)) out = { ...base, kind: "weekly", weekdays: dow.split(",").map(Number) };
    else if (!Number.isNaN(num(dom)) && dow === "*") out = { ...base, kind: "monthly", dayOfMonth: num(dom) };
  }
  // Only a shape that writes the same text back is taken; anything else stays custom.
  return toCron(out) === cron.trim() ? { ...out, custom: cron.trim() } : b;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(Number.isFinite(n) ? n : lo)));
}

/** How long from `now` until `at`, for the preview ("in 5 min", "in 3 h 20 min", "in 2 d 4 h"). */
export function until(at: Date, now: Date, lang: "zh-CN" | "en"): string {
  let s = Math.max(0, Math.round((at.getTime() - now.getTime()) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: [number, string, string][] = [
    [d, "天", "d"],
    [h, "小时", "h"],
    [m, "分钟", "min"],
    [s, "秒", "s"],
  ];
  const shown = parts.filter(([n]) => n > 0).slice(0, 2);
  if (!shown.length) return lang === "en" ? "now" : "现在";
  const text = shown.map(([n, zh, en]) => (lang === "en" ? `${n} ${en}` : `${n} ${zh}`)).join(" ");
  return lang === "en" ? `in ${text}` : `${text}后`;
}
