//! Load from outside: wrk (Debian's) against a running server, with the CPU split between the
//! server processes, a load balancer, PostgreSQL and wrk read from /proc meanwhile. Used by the
//! benchmark binaries (`vault_bench`, `cluster_bench`).

use std::path::Path;
use std::process::Command;

use sqlx::Row;

pub struct Run {
    pub rate: f64,
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub cpu: CpuSplit,
}

/// Shares of the machine's CPU time (all cores) during a run.
pub struct CpuSplit {
    /// The Medkey processes measured (a server, or every replica and the indexer).
    pub server: f64,
    /// The load balancer, when there is one.
    pub proxy: f64,
    /// Every PostgreSQL process on the machine.
    pub database: f64,
    pub wrk: f64,
    pub idle: f64,
}

/// Runs wrk (2 threads, `connections`, `seconds`, with `script` if any) against `url` and reads
/// its rate and latency, and the CPU of `servers`, `proxy`, PostgreSQL and wrk meanwhile. Every
/// answer must be a 2xx.
pub async fn wrk(
    url: &str,
    script: Option<&Path>,
    seconds: u64,
    connections: u64,
    servers: &[u32],
    proxy: Option<u32>,
) -> Run {
    let server_ticks = || servers.iter().map(|pid| process_ticks(*pid)).sum::<u64>();
    let proxy_ticks = || proxy.map_or(0, process_ticks);
    let (server_before, proxy_before, database_before, machine_before) =
        (server_ticks(), proxy_ticks(), database_ticks(), machine_ticks());
    let children_before = children_ticks();
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--latency"]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    command.arg(url);
    let output = tokio::task::spawn_blocking(move || command.output().expect("wrk runs")).await.unwrap();
    let (server_after, proxy_after, database_after, machine_after) =
        (server_ticks(), proxy_ticks(), database_ticks(), machine_ticks());
    let wrk_ticks = children_ticks() - children_before;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains("Non-2xx"), "only 200s expected:\n{text}");
    let (busy, idle) = (machine_after.0 - machine_before.0, machine_after.1 - machine_before.1);
    let all = (busy + idle).max(1) as f64 / 100.0;
    Run {
        rate: field(&text, "Requests/sec:").parse().unwrap(),
        requests: text
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap(),
        p50_ms: latency_ms(&text, "50%"),
        p99_ms: latency_ms(&text, "99%"),
        cpu: CpuSplit {
            server: (server_after - server_before) as f64 / all,
            proxy: (proxy_after - proxy_before) as f64 / all,
            database: (database_after - database_before) as f64 / all,
            wrk: wrk_ticks as f64 / all,
            idle: idle as f64 / all,
        },
    }
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.trim().strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in:\n{text}")).trim()
}

/// A latency line of wrk's distribution (`50%    1.23ms`), in milliseconds.
fn latency_ms(text: &str, percentile: &str) -> f64 {
    let value = field(text, percentile);
    let (number, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 1e-3)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1e3)
    } else {
        (value, 1.0)
    };
    number.parse::<f64>().unwrap() * factor
}

/// utime + stime of a process, in clock ticks.
fn process_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(0, |stat| stat_ticks(&stat, 14, 15))
}

/// CPU of this process's waited-for children (wrk), in clock ticks.
fn children_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat").map_or(0, |stat| stat_ticks(&stat, 16, 17))
}

/// The sum of fields `a` and `b` (numbered from 1 as in proc(5)) of a /proc stat line.
fn stat_ticks(stat: &str, a: usize, b: usize) -> u64 {
    // Split after `(comm)`, which may hold spaces: the rest starts at field 3.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let at = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    at(a) + at(b)
}

/// CPU of every PostgreSQL process on the machine, in clock ticks.
fn database_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| stat_ticks(&stat, 14, 15))
        .sum()
}

/// (busy, idle) ticks of the whole machine since boot.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    (cpu.iter().sum::<u64>() - idle, idle)
}

/// `key_released` entries in the audit log of the database at `url`.
pub async fn audit_releases(url: &str) -> u64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let row =
        sqlx::query("SELECT COUNT(*) FROM access_log WHERE kind = 'key_released'").fetch_one(&pool).await.unwrap();
    let count: i64 = row.try_get(0).unwrap();
    pool.close().await;
    count as u64
}

/// Writes a wrk script that asks for the key of one of `ids` (hex record ids), picked at random
/// per request, with `token` as the bearer.
pub fn release_script(path: &Path, ids: &[String], token: &str) {
    let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    std::fs::write(
        path,
        format!(
            "local ids = {{{}}}\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
             request = function() return wrk.format(\"GET\", \"/v1/records/\" .. ids[math.random(#ids)] .. \"/key\") end\n",
            quoted.join(",")
        ),
    )
    .unwrap();
}
