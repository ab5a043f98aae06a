import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { decodeDetails, missingPermissions } from "./details";

function help(url: string): Uint8Array {
  const link = new BinaryWriter().uint32(10).string("apply").uint32(18).string(url).finish();
  return new BinaryWriter().uint32(10).bytes(link).finish();
}

function errorInfo(reason: string, meta: Record<string, string>): Uint8Array {
  const w = new BinaryWriter().uint32(10).string(reason).uint32(18).string("job-gateway");
  for (const [k, v] of Object.entries(meta)) {
    w.uint32(26).bytes(new BinaryWriter().uint32(10).string(k).uint32(18).string(v).finish());
  }
  return w.finish();
}

describe("decodeDetails", () => {
  it("finds BlueKing's apply link and the permission ErrorInfo", () => {
    const err = new ConnectError("denied", Code.PermissionDenied);
    err.details.push(
      { type: "google.rpc.ErrorInfo", value: errorInfo("BK_PERMISSION_DENIED", { permission_apply_url: "https://iam/apply" }) },
      { type: "google.rpc.Help", value: help("https://iam/apply") },
      { type: "google.rpc.Unknown", value: new Uint8Array([255, 255]) },
    );
    const d = decodeDetails(err);
    expect(d.reason).toBe("BK_PERMISSION_DENIED");
    expect(d.metadata).toEqual({ permission_apply_url: "https://iam/apply" });
    expect(d.links).toEqual([{ description: "apply", url: "https://iam/apply" }]);
  });
});

describe("missingPermissions", () => {
  it("names each missing action with the resources it is needed on", () => {
    const permission = JSON.stringify({
      system_id: "bk_cmdb",
      system_name: "CMDB",
      actions: [
        {
          id: "find_business_resource",
          name: "Business resource view",
          related_resource_types: [
            { type: "biz", type_name: "Business", instances: [[{ id: "3", type: "biz", name: "Fantasy Legends" }]] },
          ],
        },
      ],
    });
    expect(missingPermissions({ permission })).toEqual([
      "CMDB: Business resource view (Business: Fantasy Legends)",
    ]);
  });
  it("is empty without a readable permission", () => {
    expect(missingPermissions({})).toEqual([]);
    expect(missingPermissions({ permission: "{" })).toEqual([]);
  });
});
