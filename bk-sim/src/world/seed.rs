//! Materialises a host's directory tree on disk: sandbox mount points, seeded files and generated logs.
//!
//! Decision: generated content is deterministic (seeded by host id, path and index), so two runs of the
//! same world produce byte-identical trees and tests can predict sizes. Directory modes are applied last,
//! so an unreadable directory can still be filled.

use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::index::World;
use super::model::{FileDef, HostDef, HostGroupDef, Layout};
use super::types::Host;
use crate::error::{Result, SimError};

/// Expands a host group into individual hosts.
pub fn expand_group(g: &HostGroupDef) -> Result<Vec<HostDef>> {
    let first: Ipv4Addr = g.first_ip.parse().map_err(|_| {
        SimError::InvalidWorld(format!("host_group first_ip `{}` is not IPv4", g.first_ip))
    })?;
    let base = u32::from(first);
    Ok((0..g.count)
        .map(|i| HostDef {
            id: g.first_id + i64::from(i),
            ip: Ipv4Addr::from(base.wrapping_add(i)).to_string(),
            cloud_id: g.cloud_id,
            name: format!("{}{:05}", g.name_prefix, i + 1),
            os_type: "1".to_string(),
            os_name: "linux centos".to_string(),
            agent_id: String::new(),
            agent_alive: g.agent_alive,
            modules: g.modules.clone(),
            biz: g.biz,
            profiles: g.profiles.clone(),
            layout: Layout::default(),
        })
        .collect())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::State {
        path: path.to_path_buf(),
        source,
    }
}

/// Maps an absolute in-host path onto the host root; rejects `..` so a world cannot escape its tree.
pub fn host_path(root: &Path, in_host: &str) -> Result<PathBuf> {
    let rel = in_host.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return Err(SimError::InvalidWorld(format!(
            "path `{in_host}` must not contain `..`"
        )));
    }
    Ok(root.join(rel))
}

/// Creates the host tree under `root` (which must not exist yet or be empty).
pub fn materialise(world: &World, host: &Host, root: &Path) -> Result<()> {
    std::fs::create_dir_all(root).map_err(io_err(root))?;
    for d in [
        "usr",
        "proc",
        "dev",
        "tmp",
        "etc",
        "root",
        "project",
        "data/logs",
    ] {
        let p = root.join(d);
        std::fs::create_dir_all(&p).map_err(io_err(&p))?;
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("sbin", "usr/sbin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
    ] {
        let p = root.join(link);
        if std::fs::symlink_metadata(&p).is_err() {
            std::os::unix::fs::symlink(target, &p).map_err(io_err(&p))?;
        }
    }
    let etc = root.join("etc");
    write_file(&etc.join("passwd"), b"root:x:0:0:root:/root:/bin/bash\n")?;
    write_file(&etc.join("group"), b"root:x:0:\n")?;
    write_file(&etc.join("hostname"), format!("{}\n", host.name).as_bytes())?;

    let mut modes: Vec<(PathBuf, u32)> = Vec::new();
    let layouts = host
        .profiles
        .iter()
        .filter_map(|p| world.profiles.get(p))
        .chain(std::iter::once(&host.layout));
    for layout in layouts {
        seed_layout(host.id, layout, root, &mut modes)?;
    }
    // Deepest first, so chmod 000 on a parent never blocks chmod of a child.
    modes.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (path, mode) in modes {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(io_err(&path))?;
    }
    Ok(())
}

fn parse_mode(mode: &str) -> Result<u32> {
    u32::from_str_radix(mode, 8)
        .map_err(|_| SimError::InvalidWorld(format!("mode `{mode}` is not octal")))
}

fn seed_layout(
    host_id: i64,
    layout: &Layout,
    root: &Path,
    modes: &mut Vec<(PathBuf, u32)>,
) -> Result<()> {
    for d in &layout.dirs {
        let p = host_path(root, &d.path)?;
        std::fs::create_dir_all(&p).map_err(io_err(&p))?;
        if let Some(m) = &d.mode {
            modes.push((p, parse_mode(m)?));
        }
    }
    for f in &layout.files {
        seed_file(host_id, f, root, modes)?;
    }
    for g in &layout.generators {
        let dir = host_path(root, &g.dir)?;
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut rng = StdRng::seed_from_u64(seed_of(host_id, &g.dir));
        let now = SystemTime::now();
        for i in 0..g.count {
            let max = g.max_size.unwrap_or(g.min_size).max(g.min_size);
            let size = rng.random_range(g.min_size..=max);
            let p = dir.join(format!("{}{:04}{}", g.prefix, i + 1, g.suffix));
            let content = game_log(&mut rng, size);
            write_file(&p, &content)?;
            let age = if g.age_days == 0 {
                0
            } else {
                rng.random_range(0..u64::from(g.age_days) * 86_400)
            };
            set_mtime(&p, now - Duration::from_secs(age))?;
        }
    }
    Ok(())
}

fn seed_file(
    host_id: i64,
    f: &FileDef,
    root: &Path,
    modes: &mut Vec<(PathBuf, u32)>,
) -> Result<()> {
    let p = host_path(root, &f.path)?;
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let content = match (&f.content, f.size) {
        (Some(c), _) => c.clone().into_bytes(),
        (None, size) => game_log(
            &mut StdRng::seed_from_u64(seed_of(host_id, &f.path)),
            size.unwrap_or(0),
        ),
    };
    write_file(&p, &content)?;
    if let Some(t) = &f.mtime {
        let when = chrono::DateTime::parse_from_rfc3339(t)
            .map_err(|_| SimError::InvalidWorld(format!("mtime `{t}` is not RFC 3339")))?;
        set_mtime(&p, SystemTime::from(when))?;
    }
    if let Some(m) = &f.mode {
        modes.push((p, parse_mode(m)?));
    }
    Ok(())
}

fn write_file(p: &Path, content: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(p).map_err(io_err(p))?;
    f.write_all(content).map_err(io_err(p))
}

fn set_mtime(p: &Path, t: SystemTime) -> Result<()> {
    let f = std::fs::File::options()
        .write(true)
        .open(p)
        .map_err(io_err(p))?;
    f.set_modified(t).map_err(io_err(p))
}

fn seed_of(host_id: i64, path: &str) -> u64 {
    path.bytes()
        .fold(host_id as u64 ^ 0x9e37_79b9_7f4a_7c15, |acc, b| {
            acc.rotate_left(5) ^ u64::from(b)
        })
}

const LEVELS: &[&str] = &["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
const EVENTS: &[&str] = &[
    "player login",
    "player logout",
    "enter scene",
    "battle settle",
    "item purchase",
    "guild chat",
    "matchmaking queued",
    "db save ok",
];

/// Exactly `size` bytes of game-server log lines.
pub fn game_log(rng: &mut StdRng, size: u64) -> Vec<u8> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(size);
    let mut ts = 1_763_000_000_i64 + rng.random_range(0..86_400);
    while out.len() < size {
        ts += rng.random_range(0..3);
        let t = chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default();
        let line = format!(
            "{} [{}] [zone-{}] {} uid={} ip=36.{}.{}.{} cost={}ms\n",
            t.format("%Y-%m-%d %H:%M:%S"),
            LEVELS[rng.random_range(0..LEVELS.len())],
            rng.random_range(1..9),
            EVENTS[rng.random_range(0..EVENTS.len())],
            rng.random_range(100_000..999_999),
            rng.random_range(1..255),
            rng.random_range(1..255),
            rng.random_range(1..255),
            rng.random_range(1..400),
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(size);
    out
}
