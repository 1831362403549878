//! The waiting line on stderr (terminals only).

use std::io::Write;
use std::time::{Duration, Instant};

/// The spinner line on stderr.
pub(super) struct Progress {
    enabled: bool,
    drawn: bool,
    frame: usize,
    last: Option<Instant>,
}

impl Progress {
    pub(super) fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            drawn: false,
            frame: 0,
            last: None,
        }
    }

    pub(super) fn draw(&mut self, text: &str) {
        if !self.enabled
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        self.frame = (self.frame + 1) % FRAMES.len();
        self.last = Some(Instant::now());
        let line: String = text.chars().take(100).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{} {line}", FRAMES[self.frame]);
        let _ = err.flush();
        self.drawn = true;
    }

    pub(super) fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
            self.last = None;
        }
    }
}
