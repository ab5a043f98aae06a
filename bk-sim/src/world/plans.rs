//! Loading JOB plans into the world: scripts read, targets checked against the business.

use std::path::{Path, PathBuf};

use super::index::World;
use super::model::PlanDef;
use super::types::{Plan, PlanStep, PlanVar};
use crate::error::{Result, SimError};

impl World {
    pub(super) fn add_plan(&mut self, p: PlanDef, base_dir: Option<&Path>) -> Result<()> {
        if !self.businesses.contains_key(&p.biz) {
            return Err(SimError::InvalidWorld(format!(
                "plan {} in unknown business {}",
                p.id, p.biz
            )));
        }
        for v in p.vars.iter().filter(|v| v.var_type == 3) {
            if let Some(id) = v
                .hosts
                .iter()
                .find(|id| self.host(**id).is_none_or(|h| h.biz != p.biz))
            {
                return Err(SimError::InvalidWorld(format!(
                    "plan {} variable `{}` names host {id} outside business {}",
                    p.id, v.name, p.biz
                )));
            }
        }
        let vars = p
            .vars
            .iter()
            .map(|v| PlanVar {
                id: v.id,
                name: v.name.clone(),
                var_type: v.var_type,
                value: v.value.clone(),
                hosts: v.hosts.clone(),
                description: v.description.clone(),
                required: v.required,
            })
            .collect();
        let mut steps = Vec::new();
        for s in &p.steps {
            let script = match (&s.script, &s.script_file) {
                (Some(text), _) => text.clone(),
                (None, Some(file)) => {
                    let path = base_dir
                        .map(|d| d.join(file))
                        .unwrap_or_else(|| PathBuf::from(file));
                    std::fs::read_to_string(&path)
                        .map_err(|source| SimError::ReadWorld { path, source })?
                }
                (None, None) => {
                    return Err(SimError::InvalidWorld(format!(
                        "plan {} step {} has no script",
                        p.id, s.id
                    )));
                }
            };
            for id in &s.hosts {
                if self.host(*id).is_none_or(|h| h.biz != p.biz) {
                    return Err(SimError::InvalidWorld(format!(
                        "plan {} step {} targets host {id} outside business {}",
                        p.id, s.id, p.biz
                    )));
                }
            }
            if let Some(var) = &s.target_variable
                && !p.vars.iter().any(|v| &v.name == var && v.var_type == 3)
            {
                return Err(SimError::InvalidWorld(format!(
                    "plan {} step {} targets unknown host variable `{var}`",
                    p.id, s.id
                )));
            }
            steps.push(PlanStep {
                id: s.id,
                name: s.name.clone(),
                script,
                param: s.param.clone(),
                timeout: s.timeout,
                account_id: s.account_id,
                hosts: s.hosts.clone(),
                target_variable: s.target_variable.clone(),
                ignore_error: s.ignore_error,
            });
        }
        self.plans.insert(
            p.id,
            Plan {
                def: p,
                vars,
                steps,
            },
        );
        Ok(())
    }
}
