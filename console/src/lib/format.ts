// Human-readable sizes and times: sizes in binary units, times in the browser's zone with the
// UTC instant kept for a tooltip.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** `bytes` as `1.5 MiB` (one decimal from KiB up, none for bytes). */
export function humanBytes(bytes: bigint | number): string {
  let n = typeof bytes === "bigint" ? Number(bytes) : bytes;
  if (!Number.isFinite(n) || n < 0) return "—";
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${UNITS[unit]}`;
}

/** A date as the browser's local `YYYY-MM-DD HH:mm:ss`, or `—` when absent. */
export function localTime(d: Date | undefined): string {
  if (!d || Number.isNaN(d.getTime())) return "—";
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/** The UTC instant of `d` (ISO 8601, `Z`), shown on hover beside a local time. */
export function utcInstant(d: Date | undefined): string {
  if (!d || Number.isNaN(d.getTime())) return "";
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Host ids typed as `1001, 1002 1003` (commas, spaces or new lines); the bad items apart. */
export function parseHostIds(text: string): { ids: bigint[]; bad: string[] } {
  const ids: bigint[] = [];
  const bad: string[] = [];
  const seen = new Set<string>();
  for (const item of text.split(/[\s,，;；]+/)) {
    if (item === "") continue;
    if (!/^[1-9]\d{0,17}$/.test(item)) {
      bad.push(item);
      continue;
    }
    if (seen.has(item)) continue;
    seen.add(item);
    ids.push(BigInt(item));
  }
  return { ids, bad };
}

/** A random UUID (v4) for idempotency keys; works on plain-http pages too, unlike randomUUID. */
export function uuid4(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
