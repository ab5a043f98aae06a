// The live progress of one backup, folded from its WatchBackup stream: the first message is a
// snapshot, every later one an event with the next `seq`. The view is plain JSON, kept in
// sessionStorage, so a reload resumes the stream with `after_seq` = the last `seq` applied
// instead of starting over (the contract: no gaps, no duplicates).

import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { WatchBackupResponse } from "../gen/backup/v1/backup_pb";
import {
  type Backup,
  type BackupCounts,
  type HostBackupResult,
  BackupFailureReason,
  BackupPhase,
  BackupState,
  HostBackupStatus,
  HostFailureReason,
} from "../gen/backup/v1/types_pb";

export interface HostView {
  id: string;
  ip: string;
  status: HostBackupStatus;
  reason: HostFailureReason;
  logExcerpt: string;
  filesFound: number;
  filesCopied: number;
  filesFailed: number;
  bytesCopied: number;
  /** Files done so far while running (HostProgress), before the host's result. */
  filesDone: number;
}

export interface CountsView {
  hostsTotal: number;
  hostsSucceeded: number;
  hostsPartial: number;
  hostsFailed: number;
  hostsSkipped: number;
  hostsCancelled: number;
  filesFound: number;
  filesCopied: number;
  filesFailed: number;
  bytesCopied: number;
}

export interface ProgressView {
  backupId: string;
  /** The `seq` of the last event applied: what `after_seq` resumes from. */
  seq: number;
  state: BackupState;
  phase: BackupPhase;
  failureReason: BackupFailureReason;
  statusMessage: string;
  jobUrl: string;
  bizId: string;
  dir: string;
  suffix: string;
  name: string;
  operator: string;
  createTime: string;
  retryOf: string;
  counts: CountsView;
  hosts: HostView[];
}

const TERMINAL = new Set([
  BackupState.SUCCEEDED,
  BackupState.PARTIAL,
  BackupState.FAILED,
  BackupState.CANCELLED,
]);

export function isTerminal(state: BackupState): boolean {
  return TERMINAL.has(state);
}

/** Hosts a retry would back up again. */
export function retryableHosts(view: ProgressView): HostView[] {
  return view.hosts.filter((h) =>
    [HostBackupStatus.FAILED, HostBackupStatus.PARTIAL, HostBackupStatus.SKIPPED].includes(
      h.status,
    ),
  );
}

function counts(c: BackupCounts | undefined): CountsView {
  return {
    hostsTotal: c?.hostsTotal ?? 0,
    hostsSucceeded: c?.hostsSucceeded ?? 0,
    hostsPartial: c?.hostsPartial ?? 0,
    hostsFailed: c?.hostsFailed ?? 0,
    hostsSkipped: c?.hostsSkipped ?? 0,
    hostsCancelled: c?.hostsCancelled ?? 0,
    filesFound: Number(c?.filesFound ?? 0n),
    filesCopied: Number(c?.filesCopied ?? 0n),
    filesFailed: Number(c?.filesFailed ?? 0n),
    bytesCopied: Number(c?.bytesCopied ?? 0n),
  };
}

function host(r: HostBackupResult, before?: HostView): HostView {
  return {
    id: r.bkHostId.toString(),
    ip: r.ip || before?.ip || "",
    status: r.status,
    reason: r.reason,
    logExcerpt: r.logExcerpt,
    filesFound: Number(r.filesFound),
    filesCopied: Number(r.filesCopied),
    filesFailed: Number(r.filesFailed),
    bytesCopied: Number(r.bytesCopied),
    filesDone: Number(r.filesCopied + r.filesFailed),
  };
}

/** The view of a backup as a snapshot (or GetBackup) shows it. */
export function fromBackup(b: Backup, seq: number): ProgressView {
  return {
    backupId: b.backupId,
    seq,
    state: b.state,
    phase: b.phase,
    failureReason: b.failureReason,
    statusMessage: b.statusMessage,
    jobUrl: b.jobUrl,
    bizId: b.bkBizId.toString(),
    dir: b.bkFileDir,
    suffix: b.bkFileSuffix,
    name: b.bkBackupName,
    operator: b.operator,
    createTime: b.createTime ? timestampDate(b.createTime).toISOString() : "",
    retryOf: b.retryOfBackupId,
    counts: counts(b.counts),
    hosts: b.hostResults.map((r) => host(r)),
  };
}

/** `view` after message `res` of its stream; a snapshot replaces whatever was there. */
export function apply(view: ProgressView | undefined, res: WatchBackupResponse): ProgressView {
  const seq = Number(res.seq);
  const e = res.event;
  if (e.case === "snapshot") return fromBackup(e.value, seq);
  if (!view) throw new Error("a WatchBackup stream starts with a snapshot");
  const next: ProgressView = { ...view, seq, hosts: view.hosts.slice() };
  switch (e.case) {
    case "stateChanged":
      next.state = e.value.state;
      next.phase = e.value.phase;
      next.failureReason = e.value.failureReason;
      next.statusMessage = e.value.statusMessage;
      if (e.value.jobUrl) next.jobUrl = e.value.jobUrl;
      break;
    case "hostProgress": {
      const id = e.value.bkHostId.toString();
      const i = next.hosts.findIndex((h) => h.id === id);
      const h = next.hosts[i];
      if (h) next.hosts[i] = { ...h, status: e.value.status, filesDone: Number(e.value.filesDone) };
      break;
    }
    case "hostFinished": {
      const id = e.value.bkHostId.toString();
      const i = next.hosts.findIndex((h) => h.id === id);
      if (i >= 0) next.hosts[i] = host(e.value, next.hosts[i]);
      else next.hosts.push(host(e.value));
      break;
    }
    case "countsChanged":
      next.counts = counts(e.value);
      break;
    default:
      break;
  }
  return next;
}

const KEY = "bklb.watch.";

/** The view saved for `backupId` by an earlier page, if any. */
export function loadSaved(storage: Pick<Storage, "getItem">, backupId: string): ProgressView | undefined {
  const raw = storage.getItem(KEY + backupId);
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as ProgressView;
    return v.backupId === backupId && Number.isInteger(v.seq) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function save(storage: Pick<Storage, "setItem">, view: ProgressView): void {
  storage.setItem(KEY + view.backupId, JSON.stringify(view));
}

export function forget(storage: Pick<Storage, "removeItem">, backupId: string): void {
  storage.removeItem(KEY + backupId);
}

/** Forgets every saved view (on login and logout: they belong to the person who watched). */
export function forgetAll(storage: Storage): void {
  const keys: string[] = [];
  for (let i = 0; i < storage.length; i += 1) {
    const k = storage.key(i);
    if (k?.startsWith(KEY)) keys.push(k);
  }
  for (const k of keys) storage.removeItem(k);
}
