//! `--workers N`: the proofs made by `prover-worker` processes through a PostgreSQL proof queue,
//! as on a proving cluster: a throwaway PostgreSQL server (in the run's directory, stopped at the
//! end) and N workers serving every stage of the devnet's pipeline, each with its log file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use eyre::{Result, WrapErr, bail, eyre};
use rollup_prover_queue::cluster::Cluster;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

/// The queue's server and the worker processes.
pub(crate) struct Workers {
    cluster: Cluster,
    children: Vec<(String, Child)>,
}

impl Workers {
    /// Starts the queue's server; the workers come later ([`Workers::spawn`]), once the operator
    /// has made the keys they read.
    pub(crate) async fn start_queue() -> Result<Workers> {
        let cluster = Cluster::start()
            .await
            .wrap_err("starting PostgreSQL for the proof queue (scripts/setup installs it)")?;
        Ok(Workers {
            cluster,
            children: Vec::new(),
        })
    }

    /// The queue's URL, for the operator.
    pub(crate) fn url(&self) -> String {
        self.cluster.url()
    }

    /// Starts `n` workers (`worker-1`, …) of `bin` for `slots`-slot chunks of `chain`, one per
    /// batch proof, with the keys in `key_cache`; logs in `logs`. Waits until each has its keys.
    pub(crate) async fn spawn(
        &mut self,
        bin: &Path,
        n: usize,
        slots: usize,
        chain: u64,
        key_cache: &Path,
        logs: &Path,
    ) -> Result<()> {
        if !bin.exists() {
            bail!(
                "no prover worker at {}: build it with `cargo build -p prover-worker` (scripts/devnet does)",
                bin.display()
            );
        }
        std::fs::create_dir_all(logs)?;
        for i in 1..=n {
            let name = format!("worker-{i}");
            let log = logs.join(format!("{name}.log"));
            let mut child = Command::new(bin)
                .args(["--queue-url", &self.url(), "--name", &name])
                .args(["--slots", &slots.to_string(), "--capacity", "1"])
                .args(["--chain-id", &chain.to_string(), "--dev-srs"])
                .arg("--key-cache")
                .arg(key_cache)
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log)?)
                .kill_on_drop(true)
                .spawn()
                .wrap_err_with(|| format!("starting {}", bin.display()))?;
            let stdout = child.stdout.take().ok_or_else(|| eyre!("no stdout"))?;
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let ready = tokio::time::timeout(Duration::from_secs(900), lines.next_line())
                .await
                .wrap_err_with(|| format!("{name} did not load its keys in time"))??
                .ok_or_else(|| eyre!("{name} exited at start: see {}", log.display()))?;
            crate::say(format!(
                "{name} ready ({ready}); its log: {}",
                log.display()
            ));
            // Its summary comes on stdout when it stops.
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    crate::say(format!("worker stopped: {line}"));
                }
            });
            self.children.push((name, child));
        }
        Ok(())
    }

    /// Stops every worker (SIGTERM: a task in progress goes back to the queue) and the server.
    pub(crate) async fn stop(mut self) -> Result<()> {
        for (name, child) in &mut self.children {
            if let Some(pid) = child.id() {
                std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()?;
            }
            let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await??;
            if !exit.success() {
                bail!("{name} exited with {exit}");
            }
        }
        self.cluster.stop()?;
        Ok(())
    }
}

/// The `prover-worker` beside this binary.
pub(crate) fn default_bin() -> Result<PathBuf> {
    Ok(std::env::current_exe()?
        .parent()
        .ok_or_else(|| eyre!("no directory for this binary"))?
        .join("prover-worker"))
}
