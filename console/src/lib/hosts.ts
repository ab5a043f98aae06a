// What the host picker may select: hosts whose agent runs, unless the person asks for offline
// ones too (a backup of a host whose agent is down can only fail for it). How a filter box is
// read: IP addresses, or else part of a host name. And a business's topology as the tree the
// host picker and the schedule form show.
import { AgentStatus, type HostInfo, type TopologySet } from "../gen/backup/v1/hosts_pb";

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

/** A node of the topology tree: a set (`s<id>`) or one of its modules (`m<id>`). */
export interface TopologyNode {
  key: string;
  label: string;
  setId?: bigint;
  moduleId?: bigint;
  children?: TopologyNode[];
}

/** Sets with their modules, each with its host count; a module's label names its set, since
 * two sets often have modules of the same name. */
export function topologyTree(sets: TopologySet[]): TopologyNode[] {
  return sets.map((s) => ({
    key: `s${s.bkSetId}`,
    label: `${s.bkSetName} (${s.hostCount})`,
    setId: s.bkSetId,
    children: s.modules.map((m) => ({
      key: `m${m.bkModuleId}`,
      label: `${s.bkSetName} / ${m.bkModuleName} (${m.hostCount})`,
      moduleId: m.bkModuleId,
    })),
  }));
}
