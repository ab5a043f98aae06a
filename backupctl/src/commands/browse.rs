//! `businesses`, `topology` and `hosts`: what the caller may back up, from HostService.

use proto::backup::v1 as pb;

use super::{Ctx, collect};
use crate::cli::{BusinessesArgs, HostsArgs, Paging, TopologyArgs};
use crate::error::CliError;
use crate::output::{Cell, Color, Table, View, enum_word, json_of};
use crate::select::set_module_ids;

const ALL: Paging = Paging {
    limit: None,
    all: true,
};

/// `backupctl businesses`.
pub async fn businesses(ctx: &Ctx, a: BusinessesArgs) -> Result<(), CliError> {
    let rows = collect(ALL, |page_size, page_token| {
        let req = pb::ListBusinessesRequest {
            page_size,
            page_token,
            name_contains: a.name.clone().unwrap_or_default(),
            include_archived: a.archived,
        };
        let mut c = ctx.clients.hosts();
        async move {
            let r = c.list_businesses(req).await?.into_inner();
            Ok((r.businesses, r.next_page_token))
        }
    })
    .await?;
    let mut table = Table::new(vec!["BIZ", "NAME", "TIME ZONE", "ARCHIVED"]);
    for b in &rows {
        table.push(vec![
            b.bk_biz_id.to_string().into(),
            b.bk_biz_name.clone().into(),
            b.time_zone.clone().into(),
            if b.archived { "yes" } else { "" }.into(),
        ]);
    }
    let doc = pb::ListBusinessesResponse {
        total_size: rows.len() as i64,
        businesses: rows.clone(),
        next_page_token: String::new(),
    };
    ctx.out.print(&View {
        head: vec![],
        table,
        notes: vec![],
        doc: json_of(&doc),
        items: rows.iter().map(json_of).collect(),
    })?;
    Ok(())
}

/// `backupctl topology`.
pub async fn topology(ctx: &Ctx, a: TopologyArgs) -> Result<(), CliError> {
    let req = pb::GetTopologyRequest {
        bk_biz_id: ctx.biz(a.biz).await?,
        include_idle_pool: a.idle_pool,
    };
    let topo = ctx.clients.hosts().get_topology(req).await?.into_inner();
    let mut table = Table::new(vec!["SET", "MODULE", "SET ID", "MODULE ID", "HOSTS"]);
    for s in &topo.sets {
        table.push(vec![
            s.bk_set_name.clone().into(),
            "".into(),
            s.bk_set_id.to_string().into(),
            "".into(),
            s.host_count.to_string().into(),
        ]);
        for m in &s.modules {
            table.push(vec![
                "".into(),
                m.bk_module_name.clone().into(),
                "".into(),
                m.bk_module_id.to_string().into(),
                m.host_count.to_string().into(),
            ]);
        }
    }
    let name = topo.business.as_ref().map(|b| b.bk_biz_name.clone());
    let notes = vec![format!(
        "{} hosts in business {}",
        topo.host_count,
        name.unwrap_or_default()
    )];
    let items = topo
        .sets
        .iter()
        .map(|s| {
            serde_json::json!({"bk_set_id": s.bk_set_id, "bk_set_name": s.bk_set_name,
                "host_count": s.host_count, "idle_pool": s.idle_pool})
        })
        .collect();
    ctx.out.print(&View {
        head: vec![],
        table,
        notes,
        doc: json_of(&topo),
        items,
    })?;
    Ok(())
}

/// The colour of an agent status.
pub fn agent_color(status: pb::AgentStatus) -> Option<Color> {
    match status {
        pb::AgentStatus::Online => Some(Color::Green),
        pb::AgentStatus::Offline | pb::AgentStatus::NotFound => Some(Color::Red),
        _ => Some(Color::Yellow),
    }
}

/// `backupctl hosts`.
pub async fn hosts(ctx: &Ctx, a: HostsArgs) -> Result<(), CliError> {
    let biz = ctx.biz(a.biz).await?;
    let (bk_set_ids, bk_module_ids) = set_module_ids(&ctx.clients, biz, &a.set, &a.module).await?;
    let filter = pb::ListHostsRequest {
        bk_biz_id: biz,
        bk_set_ids,
        bk_module_ids,
        inner_ips: a.ip.clone(),
        host_name_contains: a.name.clone().unwrap_or_default(),
        offline_only: a.offline,
        ..Default::default()
    };
    let rows = collect(ALL, |page_size, page_token| {
        let req = pb::ListHostsRequest {
            page_size,
            page_token,
            ..filter.clone()
        };
        let mut c = ctx.clients.hosts();
        async move {
            let r = c.list_hosts(req).await?.into_inner();
            Ok((r.hosts, r.next_page_token))
        }
    })
    .await?;
    let mut table = Table::new(vec!["ID", "IP", "CLOUD", "NAME", "AGENT", "MODULES"]);
    for h in &rows {
        let status = h.agent_status();
        let mut word = enum_word(status.as_str_name(), "AGENT_STATUS_");
        if !h.agent_detail.is_empty() && h.agent_detail != word && status != pb::AgentStatus::Online
        {
            word = format!("{word} ({})", h.agent_detail);
        }
        let modules: Vec<String> = h
            .placements
            .iter()
            .map(|p| format!("{}/{}", p.bk_set_name, p.bk_module_name))
            .collect();
        table.push(vec![
            h.bk_host_id.to_string().into(),
            h.inner_ips.join(",").into(),
            h.bk_cloud_id.to_string().into(),
            h.bk_host_name.clone().into(),
            Cell::colored(word, agent_color(status)),
            modules.join(", ").into(),
        ]);
    }
    let offline = rows
        .iter()
        .filter(|h| h.agent_status() != pb::AgentStatus::Online)
        .count();
    let notes = vec![format!("{} hosts, {offline} not online", rows.len())];
    let doc = pb::ListHostsResponse {
        total_size: rows.len() as i64,
        hosts: rows.clone(),
        next_page_token: String::new(),
    };
    ctx.out.print(&View {
        head: vec![],
        table,
        notes,
        doc: json_of(&doc),
        items: rows.iter().map(json_of).collect(),
    })?;
    Ok(())
}
