// What the host picker may select: hosts whose agent runs, unless the person asks for offline
// ones too (a backup of a host whose agent is down can only fail for it). And how a filter box
// is read: IP addresses, or else part of a host name.
import { AgentStatus, type HostInfo } from "../gen/backup/v1/hosts_pb";

export function selectable(h: Pick<HostInfo, "agentStatus">, allowOffline: boolean): boolean {
  return allowOffline || h.agentStatus === AgentStatus.ONLINE;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** A filter box as ListHosts filters: every word an IPv4 address, or a host-name fragment. */
export function hostFilter(text: string): { innerIps: string[]; hostNameContains: string } {
  const words = text.split(/[\s,，;；]+/).filter((w) => w !== "");
  if (words.length > 0 && words.every((w) => IPV4.test(w))) {
    return { innerIps: words, hostNameContains: "" };
  }
  return { innerIps: [], hostNameContains: text.trim() };
}
