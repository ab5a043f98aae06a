//! Where to connect and as whom: command-line options over the environment over a profile of
//! `$XDG_CONFIG_HOME/backupctl/config.toml` (`~/.config/...` without it). The token is read
//! from a file or `BACKUPCTL_TOKEN`, kept in [`Secret`] and never printed.
//!
//! ```toml
//! default_profile = "demo"
//! [profiles.demo]
//! server = "http://127.0.0.1:50052"
//! token_file = "/home/me/.config/backupctl/demo.token"
//! user = "admin"          # x-bk-username, for a delegator token
//! biz = 3                 # business when a command is given no --biz
//! # bk_token = "..."      # or BACKUPCTL_BK_TOKEN: your BlueKing login
//! # ca_cert = "/etc/ssl/bk-ca.pem"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::Global;
use crate::error::CliError;

/// A credential: shown as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Profile used without --profile.
    pub default_profile: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub server: Option<String>,
    pub token_file: Option<PathBuf>,
    pub user: Option<String>,
    pub bk_token: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub biz: Option<i64>,
}

/// What a command connects with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Server URL.
    pub server: String,
    /// Bearer token.
    pub token: Option<Secret>,
    /// `x-bk-username`.
    pub user: Option<String>,
    /// `x-bk-token`.
    pub bk_token: Option<Secret>,
    /// CA certificate (PEM) for TLS.
    pub ca_cert: Option<PathBuf>,
    /// Default business.
    pub biz: Option<i64>,
}

/// The config file's path: `$XDG_CONFIG_HOME/backupctl/config.toml`, else under `~/.config`.
pub fn path(xdg: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    let base = match (xdg.filter(|x| !x.is_empty()), home) {
        (Some(x), _) => PathBuf::from(x),
        (None, Some(h)) => Path::new(h).join(".config"),
        (None, None) => return None,
    };
    Some(base.join("backupctl").join("config.toml"))
}

fn read_file(path: &Path) -> Result<File, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| CliError::Config(format!("{}: {}", path.display(), e.message()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(CliError::Config(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn read_token(path: &Path) -> Result<Secret, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Config(format!("cannot read token file {}: {e}", path.display())))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CliError::Config(format!(
            "token file {} is empty",
            path.display()
        )));
    }
    Ok(Secret(token.to_owned()))
}

/// The settings of `global`, the environment and the config file.
pub fn resolve(global: &Global) -> Result<Settings, CliError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let file = match path(env("XDG_CONFIG_HOME").as_deref(), env("HOME").as_deref()) {
        Some(p) => read_file(&p)?,
        None => File::default(),
    };
    let name = global.profile.clone().or(file.default_profile.clone());
    let profile = match &name {
        Some(n) => file
            .profiles
            .get(n)
            .cloned()
            .ok_or_else(|| CliError::Config(format!("no profile `{n}` in the config file")))?,
        None => file.profiles.get("default").cloned().unwrap_or_default(),
    };
    let server = global.server.clone().or(profile.server).ok_or_else(|| {
        CliError::Usage(
            "no server: give --server (or BACKUPCTL_SERVER), or a profile with `server`".to_owned(),
        )
    })?;
    let token = match (
        &global.token_file,
        env("BACKUPCTL_TOKEN"),
        &profile.token_file,
    ) {
        (Some(p), _, _) => Some(read_token(p)?),
        (None, Some(t), _) => Some(Secret(t)),
        (None, None, Some(p)) => Some(read_token(p)?),
        (None, None, None) => None,
    };
    Ok(Settings {
        server,
        token,
        user: global.user.clone().or(profile.user),
        bk_token: global.bk_token.clone().or(profile.bk_token).map(Secret),
        ca_cert: global.ca_cert.clone().or(profile.ca_cert),
        biz: profile.biz,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_file_is_under_xdg_config_home_else_under_home() {
        assert_eq!(
            path(Some("/x"), Some("/home/a")),
            Some(PathBuf::from("/x/backupctl/config.toml"))
        );
        assert_eq!(
            path(Some(""), Some("/home/a")),
            Some(PathBuf::from("/home/a/.config/backupctl/config.toml"))
        );
        assert_eq!(path(None, None), None);
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = Secret("tkn-very-secret".into());
        assert_eq!(format!("{s:?}"), "***");
    }

    #[test]
    fn a_profile_file_parses_and_unknown_keys_are_refused() {
        let f: File = toml::from_str(
            "default_profile = \"demo\"\n[profiles.demo]\nserver = \"http://h:1\"\nbiz = 3\n",
        )
        .unwrap();
        assert_eq!(f.profiles["demo"].biz, Some(3));
        assert!(toml::from_str::<File>("[profiles.demo]\nsevrer = \"x\"\n").is_err());
    }
}
