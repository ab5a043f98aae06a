//! The methods a server serves, read from its descriptor sets: what the metrics layer labels
//! calls with. A path that is not one of them (`/evil.Service/Method123`) is labelled
//! `unknown`, so no caller can add label series by inventing method names.

use std::collections::HashMap;
use std::sync::Arc;

use prost::Message;
use prost_types::FileDescriptorSet;

/// The label value of any service or method not served.
pub const UNKNOWN: &str = "unknown";

/// go-grpc-prometheus's `grpc_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallType {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStream,
    /// A stream of requests, one response.
    ClientStream,
    /// Streams both ways.
    BidiStream,
}

impl CallType {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallType::Unary => "unary",
            CallType::ServerStream => "server_stream",
            CallType::ClientStream => "client_stream",
            CallType::BidiStream => "bidi_stream",
        }
    }
}

/// Labels of one served method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodLabels {
    /// Full service name, e.g. `backup.v1.BackupService`.
    pub service: String,
    /// Method name, e.g. `StartBackup`.
    pub method: String,
    /// Its streaming shape.
    pub kind: CallType,
}

/// Path (`/package.Service/Method`) → labels, for the services a server serves.
#[derive(Debug, Clone, Default)]
pub struct Methods {
    by_path: Arc<HashMap<String, MethodLabels>>,
}

impl Methods {
    /// The methods of `services` (full names) found in `descriptor_sets` (encoded
    /// `FileDescriptorSet`s); undecodable sets are skipped.
    pub fn from_descriptor_sets(descriptor_sets: &[&[u8]], services: &[&str]) -> Self {
        let mut by_path = HashMap::new();
        for set in descriptor_sets {
            let Ok(set) = FileDescriptorSet::decode(*set) else {
                continue;
            };
            for file in &set.file {
                for svc in &file.service {
                    let full = match file.package() {
                        "" => svc.name().to_owned(),
                        p => format!("{p}.{}", svc.name()),
                    };
                    if !services.contains(&full.as_str()) {
                        continue;
                    }
                    for m in &svc.method {
                        let kind = match (m.client_streaming(), m.server_streaming()) {
                            (false, false) => CallType::Unary,
                            (false, true) => CallType::ServerStream,
                            (true, false) => CallType::ClientStream,
                            (true, true) => CallType::BidiStream,
                        };
                        by_path.insert(
                            format!("/{full}/{}", m.name()),
                            MethodLabels {
                                service: full.clone(),
                                method: m.name().to_owned(),
                                kind,
                            },
                        );
                    }
                }
            }
        }
        Self {
            by_path: Arc::new(by_path),
        }
    }

    /// Labels `(grpc_service, grpc_method, grpc_type)` of a request path; `unknown` for
    /// anything not served.
    pub fn labels(&self, path: &str) -> (&str, &str, &'static str) {
        match self.by_path.get(path) {
            Some(m) => (&m.service, &m.method, m.kind.as_str()),
            None => (UNKNOWN, UNKNOWN, UNKNOWN),
        }
    }

    /// How many methods are known.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// True when no method is known.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_methods_get_their_names_and_anything_else_is_unknown() {
        let m = Methods::from_descriptor_sets(
            &[tonic_health::pb::FILE_DESCRIPTOR_SET],
            &["grpc.health.v1.Health"],
        );
        assert_eq!(
            m.labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check", "unary")
        );
        assert_eq!(
            m.labels("/grpc.health.v1.Health/Watch"),
            ("grpc.health.v1.Health", "Watch", "server_stream")
        );
        assert_eq!(
            m.labels("/evil.Service/Method123"),
            ("unknown", "unknown", "unknown")
        );
    }

    #[test]
    fn a_service_not_served_is_unknown_even_if_described() {
        let m = Methods::from_descriptor_sets(&[tonic_health::pb::FILE_DESCRIPTOR_SET], &[]);
        assert!(m.is_empty());
        assert_eq!(m.labels("/grpc.health.v1.Health/Check").0, "unknown");
    }
}
