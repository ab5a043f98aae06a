import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentStatus, TopologySetSchema } from "../gen/backup/v1/hosts_pb";
import { hostFilter, selectable, topologyTree } from "./hosts";

describe("host picker", () => {
  it("selects hosts whose agent runs, and others only when asked to", () => {
    expect(selectable({ agentStatus: AgentStatus.ONLINE }, false)).toBe(true);
    for (const s of [AgentStatus.OFFLINE, AgentStatus.NOT_FOUND, AgentStatus.UNKNOWN]) {
      expect(selectable({ agentStatus: s }, false)).toBe(false);
      expect(selectable({ agentStatus: s }, true)).toBe(true);
    }
  });
  it("reads a filter of IP addresses as IPs and anything else as a host name", () => {
    expect(hostFilter("10.0.1.11, 10.0.1.12")).toEqual({ innerIps: ["10.0.1.11", "10.0.1.12"], hostNameContains: "" });
    expect(hostFilter(" game-0 ")).toEqual({ innerIps: [], hostNameContains: "game-0" });
    expect(hostFilter("10.0.1")).toEqual({ innerIps: [], hostNameContains: "10.0.1" });
    expect(hostFilter("")).toEqual({ innerIps: [], hostNameContains: "" });
  });
  it("shows the topology as sets over modules, each module named with its set", () => {
    const set = (id: bigint, name: string, modules: [bigint, string, bigint][]) =>
      create(TopologySetSchema, {
        bkSetId: id,
        bkSetName: name,
        hostCount: modules.reduce((n, [, , c]) => n + c, 0n),
        modules: modules.map(([bkModuleId, bkModuleName, hostCount]) => ({ bkModuleId, bkModuleName, hostCount })),
      });
    const tree = topologyTree([set(2n, "gs-zone-1", [[31n, "gamesvr", 3n]]), set(3n, "gs-zone-2", [[41n, "gamesvr", 2n]])]);
    expect(tree.map((n) => [n.key, n.label, n.setId])).toEqual([
      ["s2", "gs-zone-1 (3)", 2n],
      ["s3", "gs-zone-2 (2)", 3n],
    ]);
    expect(tree.flatMap((n) => n.children ?? []).map((m) => [m.key, m.label, m.moduleId])).toEqual([
      ["m31", "gs-zone-1 / gamesvr (3)", 31n],
      ["m41", "gs-zone-2 / gamesvr (2)", 41n],
    ]);
  });
});
