import { describe, expect, it } from "vitest";
import { AgentStatus } from "../gen/backup/v1/hosts_pb";
import { hostFilter, selectable } from "./hosts";

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
});
