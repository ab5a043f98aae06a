// The google.rpc details backup-service attaches to errors that the page acts on: `Help`
// links (BlueKing's permission apply page, its login page) and `ErrorInfo` (reason, metadata),
// and the field a `BadRequest` names. These few messages are decoded from their wire form
// here, as the console generates code only for our own protos.

import { BinaryReader } from "@bufbuild/protobuf/wire";
import type { ConnectError } from "@connectrpc/connect";

export interface ErrorDetails {
  links: { description: string; url: string }[];
  reason: string;
  metadata: Record<string, string>;
  fields: { field: string; description: string }[];
}

type Fields = Map<number, (string | Uint8Array)[]>;

/** Length-delimited fields of a message by number (enough for these string-only messages). */
function fields(bytes: Uint8Array): Fields {
  const out: Fields = new Map();
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wire] = r.tag();
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    const value = r.bytes();
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

const text = (v: string | Uint8Array | undefined): string =>
  v === undefined ? "" : typeof v === "string" ? v : new TextDecoder().decode(v);

const first = (f: Fields, no: number): string => text(f.get(no)?.[0]);
const all = (f: Fields, no: number): Uint8Array[] =>
  (f.get(no) ?? []).filter((v): v is Uint8Array => typeof v !== "string");

export function decodeDetails(err: ConnectError): ErrorDetails {
  const d: ErrorDetails = { links: [], reason: "", metadata: {}, fields: [] };
  for (const raw of err.details) {
    if (!("type" in raw) || !(raw.value instanceof Uint8Array)) continue;
    try {
      const f = fields(raw.value);
      switch (raw.type) {
        case "google.rpc.Help":
          for (const link of all(f, 1)) {
            const l = fields(link);
            d.links.push({ description: first(l, 1), url: first(l, 2) });
          }
          break;
        case "google.rpc.ErrorInfo":
          d.reason = first(f, 1);
          for (const entry of all(f, 3)) {
            const e = fields(entry);
            d.metadata[first(e, 1)] = first(e, 2);
          }
          break;
        case "google.rpc.BadRequest":
          for (const v of all(f, 1)) {
            const fv = fields(v);
            d.fields.push({ field: first(fv, 1), description: first(fv, 2) });
          }
          break;
        default:
          break;
      }
    } catch {
      // A detail that does not decode is left out; the message still says what happened.
    }
  }
  return d;
}

/**
 * What a BlueKing refusal says is missing, from its ErrorInfo `permission` (IAM's object:
 * system, actions, and the resources each is needed on), e.g.
 * `CMDB: Business resource view (Business: Fantasy Legends)`. Empty when there is none.
 */
export function missingPermissions(metadata: Record<string, string>): string[] {
  const raw = metadata["permission"];
  if (!raw) return [];
  try {
    const p = JSON.parse(raw) as {
      system_name?: string;
      actions?: {
        name?: string;
        id?: string;
        related_resource_types?: { type_name?: string; instances?: { name?: string; id?: string }[][] }[];
      }[];
    };
    return (p.actions ?? []).map((a) => {
      const on = (a.related_resource_types ?? []).flatMap((r) =>
        (r.instances ?? []).map((path) => {
          const last = path[path.length - 1];
          return `${r.type_name ?? ""}: ${last?.name ?? last?.id ?? ""}`;
        }),
      );
      const what = `${p.system_name ?? ""}: ${a.name ?? a.id ?? ""}`;
      return on.length ? `${what} (${on.join(", ")})` : what;
    });
  } catch {
    return [];
  }
}
