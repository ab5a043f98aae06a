// CSV for spreadsheets: RFC 4180 quoting, a UTF-8 byte-order mark so Excel reads Chinese
// text, and cells that would start a formula (=, +, -, @) prefixed with ' so opening the file
// runs nothing a file path put there.

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | bigint;
}

export function csvCell(raw: string | number | bigint): string {
  let s = String(raw);
  if (typeof raw === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const lines = [columns.map((c) => csvCell(c.header)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(c.value(row))).join(","));
  return "\uFEFF" + lines.join("\r\n") + "\r\n";
}
