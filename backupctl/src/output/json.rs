//! Protobuf messages as JSON, the canonical protobuf mapping (what `buf curl` prints) with the
//! .proto's field names, every field present (defaults included, so a document's shape does
//! not depend on its values), enums by name, timestamps in RFC 3339 and 64-bit integers as
//! numbers (ids stay below 2^53), so `jq` reads it directly.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

/// A message that knows its protobuf name.
pub trait Json: prost::Message + Sized {
    /// Full protobuf name, e.g. `backup.v1.Backup`.
    const NAME: &'static str;
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET).expect("the proto crate's descriptors")
    })
}

/// `msg` as a JSON value.
pub fn json_of<M: Json>(msg: &M) -> serde_json::Value {
    let desc = pool()
        .get_message_by_name(M::NAME)
        .unwrap_or_else(|| panic!("{} is in the descriptor set", M::NAME));
    let dynamic =
        DynamicMessage::decode(desc, msg.encode_to_vec().as_slice()).expect("a message re-decodes");
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false)
        .stringify_64_bit_integers(false);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .expect("a message serializes")
}

macro_rules! named {
    ($($ty:ident),* $(,)?) => {
        $(impl Json for proto::backup::v1::$ty {
            const NAME: &'static str = concat!("backup.v1.", stringify!($ty));
        })*
    };
}

named!(
    BusinessInfo,
    ListBusinessesResponse,
    GetTopologyResponse,
    HostInfo,
    ListHostsResponse,
    SearchFilesResponse,
    HostSearchResult,
    Backup,
    StartBackupResponse,
    CancelBackupResponse,
    RetryBackupResponse,
    ListBackupsResponse,
    BackupRecord,
    ListBackupRecordsResponse,
    WatchBackupResponse,
    Schedule,
    ListSchedulesResponse,
    ScheduleRun,
    ListScheduleRunsResponse,
    PreviewScheduleResponse,
    PreviewFire,
    TriggerScheduleResponse,
);

#[cfg(test)]
mod tests {
    use proto::backup::v1 as pb;

    use super::*;

    #[test]
    fn a_message_is_proto_json_with_every_field_and_enums_by_name() {
        let host = pb::HostInfo {
            bk_host_id: 1001,
            agent_status: pb::AgentStatus::Online as i32,
            ..Default::default()
        };
        let v = json_of(&host);
        assert_eq!(v["bk_host_id"], 1001);
        assert_eq!(v["agent_status"], "AGENT_STATUS_ONLINE");
        assert_eq!(v["bk_host_name"], "");
        assert_eq!(v["placements"], serde_json::json!([]));
    }
}
