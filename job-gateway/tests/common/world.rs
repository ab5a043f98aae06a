//! The test world: a small game business, an archived one, a second one for permission checks and
//! the resource pool.

/// The resource pool (business 1, `default = 1`), business 3 (hosts 101–104; 104's agent is
/// down; 101 has a GSE 2.0 agent id), archived business 4, business 5 (host 201). alice may use 3, bob only 5. Plan 700 lists a directory
/// on its host-list variable's hosts.
pub const WORLD: &str = r##"
[[app]]
code = "bk-log-backup"
secret = "demo-secret"
login_exempt = true

[[user]]
name = "admin"
all_businesses = true

[[user]]
name = "alice"
businesses = [3]

[[user]]
name = "bob"
businesses = [5]

[[business]]
id = 1
name = "resource pool"
default = 1

[[business]]
id = 3
name = "game"
maintainer = "admin,alice"

[[business.set]]
id = 31
name = "zone-1"

[[business.set.module]]
id = 311
name = "gamesvr"

[[business.set.module]]
id = 312
name = "gateway"

[[business.set]]
id = 32
name = "zone-2"

[[business.set.module]]
id = 321
name = "gamesvr"

[[business]]
id = 4
name = "old game"
archived = true

[[business]]
id = 5
name = "payments"

[[business.set]]
id = 51
name = "web"

[[business.set.module]]
id = 511
name = "nginx"

[[host]]
id = 101
ip = "10.0.0.1"
name = "game-01"
agent_id = "agent101"
modules = [311]
file = [{ path = "/data/logs/a.log", content = "alpha\n" }, { path = "/data/logs/b.log", content = "beta\n" }]

[[host]]
id = 102
ip = "10.0.0.2"
name = "game-02"
modules = [311, 312]

[[host]]
id = 103
ip = "10.0.0.3"
name = "game-03"
modules = [321]

[[host]]
id = 104
ip = "10.0.0.4"
name = "game-04"
modules = [321]
agent_alive = false

[[host]]
id = 201
ip = "10.5.0.1"
name = "pay-01"
modules = [511]

[[plan]]
id = 700
biz = 3
name = "list logs"
template_id = 70

[[plan.var]]
id = 1
name = "dir"
value = "/data/logs"

[[plan.var]]
id = 2
name = "targets"
type = 3
hosts = [101]

[[plan.step]]
id = 7001
name = "list"
script = "#!/bin/bash\nls \"$dir\" | sort\n"
target_variable = "targets"
"##;
