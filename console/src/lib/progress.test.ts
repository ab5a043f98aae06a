import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { WatchBackupResponseSchema, type WatchBackupResponse } from "../gen/backup/v1/backup_pb";
import { BackupState, HostBackupStatus, HostFailureReason } from "../gen/backup/v1/types_pb";
import { apply, forgetAll, isTerminal, loadSaved, retryableHosts, save, type ProgressView } from "./progress";

type Init = Parameters<typeof create<typeof WatchBackupResponseSchema>>[1];
const msg = (init: Init): WatchBackupResponse => create(WatchBackupResponseSchema, init);

const snapshot = msg({
  seq: 2n,
  event: {
    case: "snapshot",
    value: {
      backupId: "b1",
      state: BackupState.RUNNING,
      bkBizId: 3n,
      bkFileDir: "/data/logs",
      bkFileSuffix: "log",
      counts: { hostsTotal: 2 },
      hostResults: [
        { bkHostId: 1001n, ip: "10.0.0.1", status: HostBackupStatus.RUNNING },
        { bkHostId: 1009n, ip: "10.0.0.9", status: HostBackupStatus.PENDING },
      ],
    },
  },
});

const rest: WatchBackupResponse[] = [
  msg({ seq: 3n, event: { case: "hostProgress", value: { bkHostId: 1001n, status: HostBackupStatus.RUNNING, filesDone: 4n } } }),
  msg({
    seq: 4n,
    event: {
      case: "hostFinished",
      value: { bkHostId: 1009n, status: HostBackupStatus.FAILED, reason: HostFailureReason.AGENT_OFFLINE },
    },
  }),
  msg({
    seq: 5n,
    event: {
      case: "hostFinished",
      value: { bkHostId: 1001n, status: HostBackupStatus.SUCCEEDED, filesCopied: 6n, bytesCopied: 2048n },
    },
  }),
  msg({ seq: 6n, event: { case: "countsChanged", value: { hostsTotal: 2, hostsSucceeded: 1, hostsFailed: 1, filesCopied: 6n } } }),
  msg({ seq: 7n, event: { case: "stateChanged", value: { state: BackupState.PARTIAL, statusMessage: "1 of 2 hosts failed" } } }),
];

describe("progress", () => {
  it("folds a snapshot and the events after it into per-host status and totals", () => {
    const view = rest.reduce<ProgressView | undefined>(apply, apply(undefined, snapshot))!;
    expect(view.seq).toBe(7);
    expect(view.state).toBe(BackupState.PARTIAL);
    expect(isTerminal(view.state)).toBe(true);
    expect(view.hosts.map((h) => [h.id, h.ip, h.status, h.filesCopied])).toEqual([
      ["1001", "10.0.0.1", HostBackupStatus.SUCCEEDED, 6],
      ["1009", "10.0.0.9", HostBackupStatus.FAILED, 0],
    ]);
    expect(view.counts.filesCopied).toBe(6);
    expect(retryableHosts(view).map((h) => h.id)).toEqual(["1009"]);
  });

  it("resumes after a reload from the saved view with the events after its seq", () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    };
    const [first, ...later] = rest;
    save(storage, apply(apply(undefined, snapshot), first!));
    const saved = loadSaved(storage, "b1")!;
    expect(saved.seq).toBe(3);
    expect(saved.hosts[0]!.filesDone).toBe(4);
    const resumed = later.reduce(apply, saved);
    const straight = rest.reduce<ProgressView | undefined>(apply, apply(undefined, snapshot))!;
    expect(resumed).toEqual(straight);
    expect(loadSaved(storage, "other")).toBeUndefined();
  });

  it("refuses an event with no snapshot before it", () => {
    expect(() => apply(undefined, rest[0]!)).toThrow(/snapshot/);
  });
});

describe("saved views", () => {
  it("are all forgotten at once, leaving other keys alone", () => {
    const store = new Map<string, string>([["bklb.locale", "en"]]);
    const storage = {
      get length() {
        return store.size;
      },
      key: (i: number) => [...store.keys()][i] ?? null,
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
      clear: () => store.clear(),
    };
    save(storage, apply(undefined, snapshot));
    expect(loadSaved(storage, "b1")).toBeDefined();
    forgetAll(storage);
    expect(loadSaved(storage, "b1")).toBeUndefined();
    expect([...store.keys()]).toEqual(["bklb.locale"]);
  });
});
