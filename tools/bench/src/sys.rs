//! The few OS calls the bench needs: CPU time of the calling thread, the peak RSS of a
//! child process, the machine description, and keeping library output off the table.

use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::time::Duration;

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
}

/// User + system CPU time of the calling thread (`getrusage(RUSAGE_THREAD)`).
pub fn thread_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD) failed");
    timeval(ru.ru_utime) + timeval(ru.ru_stime)
}

/// Reap the child `pid` (already killed or exited) and return its peak RSS in KiB
/// (`wait4` → `ru_maxrss`).
pub fn reap_max_rss_kib(pid: u32) -> Option<u64> {
    let mut status = 0;
    // SAFETY: wait4 only writes into the status and rusage we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
    (rc == pid as libc::pid_t).then_some(ru.ru_maxrss as u64)
}

/// The library prints EMF metrics and JSON logs on stdout, as Lambda wants. During the
/// bench they go to /dev/null, or to the file `log` (their cost still counts); the table
/// goes to the real stdout, which this returns.
pub fn divert_stdout(log: Option<&std::path::Path>) -> File {
    use std::os::unix::ffi::OsStrExt;
    let target = match log {
        Some(p) => std::ffi::CString::new(p.as_os_str().as_bytes()).expect("log path"),
        None => c"/dev/null".to_owned(),
    };
    // SAFETY: plain fd juggling on fds we own; the duplicate is wrapped in a File once.
    unsafe {
        let saved = libc::dup(1);
        assert!(saved >= 0, "dup(1) failed");
        let null = libc::open(
            target.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o644,
        );
        assert!(null >= 0, "cannot open the log file");
        assert!(libc::dup2(null, 1) >= 0, "dup2 failed");
        libc::close(null);
        File::from_raw_fd(saved)
    }
}

/// Write text to the real stdout kept by [`divert_stdout`].
pub fn print_to(out: &mut File, text: &str) {
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `nproc`, CPU model, RAM, kernel: for the report.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub ram_gib: f64,
    pub kernel: String,
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Machine {
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        model,
        ram_gib: ram_kib / 1024.0 / 1024.0,
        kernel,
    }
}

/// The 1-minute load average (`/proc/loadavg`).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let f: Vec<&str> = s.split_whitespace().take(3).collect();
            (f.len() == 3).then(|| f.join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}
