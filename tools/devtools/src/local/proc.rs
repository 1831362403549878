//! Process-table helpers (Linux `/proc`; elsewhere only the process group is signalled).

#[derive(Clone, Copy)]
pub enum Signal {
    Interrupt,
    Kill,
}

/// Signals every process in the group led by `pgid`.
pub fn signal_group(pgid: u32, sig: Signal) {
    #[cfg(unix)]
    {
        let sig = match sig {
            Signal::Interrupt => libc::SIGINT,
            Signal::Kill => libc::SIGKILL,
        };
        // SAFETY: plain syscall; a negative pid addresses the process group.
        unsafe {
            libc::kill(-(pgid as i32), sig);
        }
    }
    #[cfg(not(unix))]
    let _ = (pgid, sig);
}

/// SIGKILL to one process.
pub fn kill(pid: u32) {
    #[cfg(unix)]
    // SAFETY: plain syscall.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// `(state, ppid, start time)` from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(char, u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything: skip past it.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, ppid, start))
}

/// Running (not a zombie).
pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _, _)| state != 'Z' && state != 'X')
}

/// When the process started (ticks since boot), to tell a reused pid apart.
pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, _, start)| start)
}

/// Every live process below `root`.
pub fn descendants(root: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat(pid).map(|(_, ppid, _)| (pid, ppid)))
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid) in &parents {
            if *ppid == p && !out.contains(pid) {
                out.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    out
}
