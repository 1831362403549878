//! The `cargo lambda watch` process: started in its own process group, watched for dead
//! functions through its log, and stopped with everything it started.

use super::proc;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The `cargo lambda watch` process.
pub(super) struct Watch {
    pub(super) pid: u32,
    child: Mutex<Option<Child>>,
    log_path: PathBuf,
    /// How far the log has been searched for dead functions.
    scanned: Mutex<u64>,
}

impl Watch {
    pub(super) fn spawn(
        cargo_lambda: &Path,
        root: &Path,
        port: u16,
        env_file: &Path,
        log_path: &Path,
    ) -> Result<Watch, String> {
        let log =
            std::fs::File::create(log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(cargo_lambda);
        cmd.args(["lambda", "watch", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            // Other people's edits must not restart the functions mid-scenario.
            .arg("--ignore-changes")
            .arg("--env-file")
            .arg(env_file)
            .current_dir(root)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop it.
            cmd.process_group(0);
            #[cfg(target_os = "linux")]
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    // If we die without cleaning up, cargo-lambda gets a Ctrl-C of its own.
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                    Ok(())
                });
            }
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", cargo_lambda.display()))?;
        Ok(Watch {
            pid: child.id(),
            child: Mutex::new(Some(child)),
            log_path: log_path.to_path_buf(),
            scanned: Mutex::new(0),
        })
    }

    /// An error if cargo-lambda has exited or one of its functions has died (it would not
    /// be restarted, and invocations would wait forever).
    pub(super) fn check(&self) -> Result<(), String> {
        if let Some(child) = lock(&self.child).as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(self.explain(&format!("cargo lambda watch exited ({status})")));
        }
        let mut scanned = lock(&self.scanned);
        let mut new = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path)
            && f.seek(SeekFrom::Start(*scanned)).is_ok()
        {
            let _ = f.read_to_string(&mut new);
        }
        // Only whole lines count; a half-written one is read again next time.
        let complete = new.rfind('\n').map_or(0, |i| i + 1);
        *scanned += complete as u64;
        let dead = new[..complete].lines().any(|l| {
            l.contains("command exited")
                || l.contains("command killed")
                || l.contains("failed to obtain the watchexec task")
        });
        drop(scanned);
        if dead {
            return Err(self.explain("a function process exited"));
        }
        Ok(())
    }

    /// `what`, followed by the end of the emulator's log.
    pub(super) fn explain(&self, what: &str) -> String {
        format!(
            "{what}\n--- last lines of {} ---\n{}",
            self.log_path.display(),
            self.tail(30)
        )
    }

    pub(super) fn tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// cargo-lambda and its live descendants.
    pub(super) fn tree(&self) -> Vec<u32> {
        let mut pids = vec![self.pid];
        pids.extend(proc::descendants(self.pid));
        pids.retain(|p| proc::alive(*p));
        pids
    }

    /// Ctrl-C to the watch's process group (cargo-lambda then stops its functions), then
    /// SIGKILL for anything of the tree still there after a grace period.
    pub(super) fn stop(&mut self) -> Vec<u32> {
        let Some(mut child) = lock(&self.child).take() else {
            return Vec::new();
        };
        let tree: Vec<(u32, Option<u64>)> = std::iter::once(self.pid)
            .chain(proc::descendants(self.pid))
            .map(|p| (p, proc::start_time(p)))
            .collect();
        proc::signal_group(self.pid, proc::Signal::Interrupt);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
        }
        proc::signal_group(self.pid, proc::Signal::Kill);
        let _ = child.kill();
        let _ = child.wait();
        // The functions run in sessions of their own: make sure none is left.
        let deadline = Instant::now() + Duration::from_secs(5);
        for (pid, start) in &tree[1..] {
            let still_there =
                || start.is_some() && proc::start_time(*pid) == *start && proc::alive(*pid);
            while still_there() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if still_there() {
                proc::kill(*pid);
            }
        }
        tree.into_iter().map(|(p, _)| p).collect()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
