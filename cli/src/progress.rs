//! Progress on long work (uploads, imports, exports, sharing): a bar on stderr when it is a
//! terminal, one line per finished item otherwise, so logs and scripts still see what happened.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    done: u64,
    len: u64,
}

impl Progress {
    /// `len` items of work described as `what` (e.g. "uploading").
    pub fn new(len: u64, what: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| styled(len, what, "{pos}/{len} {msg}"));
        Self { bar, done: 0, len }
    }

    /// One item finished; `line` says which.
    pub fn item(&mut self, line: &str) {
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(line.to_owned());
                bar.inc(1);
            }
            None => eprintln!("[{}/{}] {line}", self.done, self.len),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A byte-counting bar for one large stream (an attachment), shown only on a terminal.
pub fn bytes(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(len, what, "{bytes}/{total_bytes} {bytes_per_sec}")
}

/// A bar on stderr: `what [=====>    ] <counts>`.
fn styled(len: u64, what: &str, counts: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(&format!("{{prefix}} [{{bar:30}}] {counts}"))
        .expect("a valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(what.to_owned());
    bar
}
