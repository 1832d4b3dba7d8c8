//! A throwaway PostgreSQL server for tests and devnets: `initdb` into a fresh private temporary
//! directory (mode 0700), `postgres` listening on a Unix socket in that directory only (no TCP
//! port, so clusters never collide; the socket mode 0700, since the server trusts every
//! connection), stopped and removed on [`Cluster::stop`] or drop, so no process is left behind.
//!
//! The server's programs are looked up in `$POSTGRES_BIN`, then on `PATH`, then in Debian's
//! `/usr/lib/postgresql/<version>/bin` (the newest). PostgreSQL refuses to run as root: as root,
//! every program runs as the `postgres` system user (`runuser`), which Debian's package creates, and
//! the directory is handed to it. `scripts/setup` installs the package where it is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// The socket's port number: it only names the socket file, in the cluster's own directory.
const PORT: u16 = 5432;

/// A running throwaway server.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// The user the programs run as, when this process is root.
    user: Option<String>,
    server: Option<Child>,
}

fn err(what: impl Into<String>) -> Error {
    Error::Cluster(what.into())
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn find_bin() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("POSTGRES_BIN") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                return Ok(dir);
            }
        }
    }
    let debian = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").is_file().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        err("PostgreSQL's server programs (initdb, postgres) were not found in $POSTGRES_BIN, on PATH or under /usr/lib/postgresql: run scripts/setup, or install the postgresql package")
    })
}

/// A new directory only this user may enter (mode 0700), under the temporary directory: created,
/// never reused, so nothing another local user placed there (a link, a directory) is followed.
fn private_dir(n: usize) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..16u32 {
        let dir = std::env::temp_dir().join(format!(
            "pg-{}-{n}-{:08x}",
            std::process::id(),
            nanos.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => last = Some(format!("{}: {e}", dir.display())),
        }
    }
    Err(err(last.unwrap_or_default()))
}

/// The `postgres` user's id (`-u`) or group id (`-g`).
fn id(which: &str) -> Result<u32> {
    let out = Command::new("id")
        .args([which, "postgres"])
        .output()
        .map_err(|e| err(format!("id: {e}")))?;
    std::str::from_utf8(&out.stdout)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|_| out.status.success())
        .ok_or_else(|| {
            err("running as root, and there is no postgres user to run the server as: install Debian's postgresql package (it creates the user) or run as another user")
        })
}

/// Whether this process runs as root (`id -u` says 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Cluster {
    /// Creates and starts a cluster; returns once it accepts connections.
    pub async fn start() -> Result<Cluster> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let bin = find_bin()?;
        let dir = private_dir(NEXT.fetch_add(1, Ordering::SeqCst))?;
        let user = is_root().then(|| "postgres".to_string());
        if user.is_some() {
            let (uid, gid) = (id("-u")?, id("-g")?);
            // Not following a link: the directory was just made, private, by this process.
            std::os::unix::fs::lchown(&dir, Some(uid), Some(gid))
                .map_err(|e| err(format!("handing {} to postgres: {e}", dir.display())))?;
        }
        let mut cluster = Cluster {
            dir,
            bin,
            user,
            server: None,
        };
        let data = cluster.data();
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .output()
            .map_err(|e| err(format!("initdb: {e}")))?;
        if !out.status.success() {
            return Err(err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        cluster.run().await?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `program` of the server's, run as the cluster's user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// Starts the server on the existing data directory and waits until it accepts connections.
    async fn run(&mut self) -> Result<()> {
        let log = std::fs::File::create(self.dir.join("server.log"))
            .map_err(|e| err(format!("the server log: {e}")))?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .arg("-k")
            .arg(&self.dir)
            // No TCP; the socket only for the server's own user (and root): a cluster trusts
            // every connection, so no other local user may reach it.
            .args(["-p", &PORT.to_string(), "-c", "listen_addresses="])
            .args(["-c", "unix_socket_permissions=0700"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| err(format!("postgres: {e}")))?;
        self.server = Some(child);
        let start = Instant::now();
        loop {
            match tokio_postgres::connect(&self.url(), tokio_postgres::NoTls).await {
                Ok(_) => return Ok(()),
                Err(e) if start.elapsed() > Duration::from_secs(60) => {
                    let log =
                        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                    return Err(err(format!(
                        "the server did not accept connections within a minute ({e}); its log:\n{log}"
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The connection string (`host` is the socket's directory).
    pub fn url(&self) -> String {
        format!(
            "host={} port={PORT} user=postgres dbname=postgres",
            self.dir.display()
        )
    }

    /// Stops the server (a fast shutdown: sessions are cut), keeping its data.
    pub fn halt(&mut self) -> Result<()> {
        let Some(mut child) = self.server.take() else {
            return Ok(());
        };
        let stopped = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !stopped.is_ok_and(|s| s.success()) {
            let _ = child.kill();
        }
        child
            .wait()
            .map_err(|e| err(format!("waiting for the server: {e}")))?;
        Ok(())
    }

    /// Stops the server and starts it again on the same data (a database restart).
    pub async fn restart(&mut self) -> Result<()> {
        self.halt()?;
        self.run().await
    }

    /// Stops the server and removes its directory.
    pub fn stop(mut self) -> Result<()> {
        self.halt()?;
        std::fs::remove_dir_all(&self.dir).map_err(|e| err(format!("{}: {e}", self.dir.display())))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.halt();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
