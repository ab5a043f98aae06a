// Typed clients of backup-service, generated from ../proto (src/gen), over grpc-web on the
// page's own origin. The browser sends the person's BlueKing login as the `bk_token` cookie
// with every call; the server verifies it.

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BackupService } from "../gen/backup/v1/backup_pb";
import { HostService } from "../gen/backup/v1/hosts_pb";
import { ScheduleService } from "../gen/backup/v1/schedule_pb";
import { decodeDetails, type ErrorDetails } from "./details";

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: "include" }),
});

export const backups = createClient(BackupService, transport);
export const hosts = createClient(HostService, transport);
export const schedules = createClient(ScheduleService, transport);

/** What the page shows for a failed call. */
export interface CallError {
  code: Code;
  /** The server's message (English, as the API says it). */
  message: string;
  details: ErrorDetails;
}

export function callError(e: unknown): CallError {
  const err = ConnectError.from(e);
  return { code: err.code, message: err.rawMessage, details: decodeDetails(err) };
}

export { Code };
