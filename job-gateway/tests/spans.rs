//! Every RPC runs in a `grpc` span that ends up carrying the operator and the BlueKing request
//! id of its upstream call, so a log line can be matched with BlueKing's own logs.

mod common;

use std::sync::{Arc, Mutex};

use common::{GAME_BIZ, gateway, req, sim};
use job_gateway::config::Transport;
use proto::jobgateway::v1 as pb;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// (span name, field, value) of every recorded field.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

struct Capture(Seen);

struct Fields<'a>(&'a str, &'a Seen);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let entry = (
            self.0.to_owned(),
            field.name().to_owned(),
            format!("{value:?}"),
        );
        self.1.lock().unwrap().push(entry);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let entry = (self.0.to_owned(), field.name().to_owned(), value.to_owned());
        self.1.lock().unwrap().push(entry);
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        attrs.record(&mut Fields(attrs.metadata().name(), &self.0));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let name = ctx.span(id).map(|s| s.name()).unwrap_or_default();
        values.record(&mut Fields(name, &self.0));
    }
}

#[tokio::test]
async fn an_rpc_span_records_the_operator_and_the_blueking_request_id() {
    let seen: Seen = Arc::default();
    let subscriber = tracing_subscriber::registry().with(Capture(Arc::clone(&seen)));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sim = sim().await;
    let gw = gateway(sim.settings(Transport::Apigw)).await;
    let request = pb::GetBusinessTopologyRequest {
        bk_biz_id: GAME_BIZ,
        include_idle_pool: false,
    };
    gw.cmdb()
        .await
        .get_business_topology(req(request, Some("alice")))
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    let grpc = |field: &str| -> Vec<String> {
        seen.iter()
            .filter(|(s, f, _)| s == "grpc" && f == field)
            .map(|(_, _, v)| v.clone())
            .collect()
    };
    assert_eq!(grpc("rpc"), ["GetBusinessTopology"]);
    assert_eq!(grpc("operator"), ["alice"]);
    let ids = grpc("bk_request_id");
    assert_eq!(ids.len(), 1, "{seen:?}");
    let logged: Vec<String> = seen
        .iter()
        .filter(|(s, f, _)| s == "bk_call" && f == "bk_request_id")
        .map(|(_, _, v)| v.clone())
        .collect();
    assert_eq!(logged, ids);
    assert!(!ids[0].is_empty());
}
