//! `--record FILE`: the session as an asciicast v2 file (`asciinema play FILE`): a header line
//! with the terminal's size, then one `[seconds, "o", text]` line per write to the screen and
//! `[seconds, "r", "WxH"]` per resize. Everything drawn is in it, the presenter overlay too.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

pub struct Recorder {
    file: BufWriter<File>,
    started: Instant,
    /// The start of a character split between two writes.
    pending: Vec<u8>,
}

impl Recorder {
    pub fn create(path: &std::path::Path, width: u16, height: u16) -> std::io::Result<Recorder> {
        let mut file = BufWriter::new(File::create(path)?);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let term = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into());
        let header = serde_json::json!({
            "version": 2, "width": width, "height": height, "timestamp": timestamp,
            "env": {"TERM": term, "SHELL": "kwb"}, "title": "kwb",
        });
        writeln!(file, "{header}")?;
        Ok(Recorder {
            file,
            started: Instant::now(),
            pending: Vec::new(),
        })
    }

    fn event(&mut self, kind: &str, data: &str) -> std::io::Result<()> {
        let at = self.started.elapsed().as_secs_f64();
        let line = serde_json::json!([(at * 1e6).round() / 1e6, kind, data]);
        writeln!(self.file, "{line}")
    }

    /// Bytes written to the terminal; a character cut at the end waits for its rest.
    pub fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Not UTF-8 at all: written as the replacement character, not held forever.
            Err(_) => self.pending.len(),
        };
        if valid == 0 {
            return Ok(());
        }
        let rest = self.pending.split_off(valid);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        self.event("o", &text)
    }

    pub fn resize(&mut self, width: u16, height: u16) -> std::io::Result<()> {
        self.event("r", &format!("{width}x{height}"))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The recording, shared by the screen (which writes output into it) and the event loop
/// (resizes, the last flush).
pub type Shared = std::sync::Arc<std::sync::Mutex<Option<Recorder>>>;

/// The TUI's output: the terminal, and the recording when there is one. What is written
/// between two flushes (a frame) is one event of the recording.
pub struct Screen {
    out: std::io::Stdout,
    recorder: Shared,
    frame: Vec<u8>,
}

impl Screen {
    pub fn new(recorder: Shared) -> Screen {
        Screen {
            out: std::io::stdout(),
            recorder,
            frame: Vec::new(),
        }
    }
}

/// Runs `f` on the recording, if there is one; a failure ends the recording (the session
/// goes on, and the log says why).
pub fn with(shared: &Shared, f: impl FnOnce(&mut Recorder) -> std::io::Result<()>) {
    let Ok(mut guard) = shared.lock() else {
        return;
    };
    if let Some(r) = guard.as_mut()
        && let Err(e) = f(r)
    {
        tracing::error!("recording stopped: {e}");
        *guard = None;
    }
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.frame.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let frame = std::mem::take(&mut self.frame);
        if !frame.is_empty() {
            with(&self.recorder, |r| {
                r.output(&frame)?;
                r.flush()
            });
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_is_asciicast_v2_and_keeps_split_characters_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.cast");
        let mut r = Recorder::create(&path, 100, 30).unwrap();
        let dot = "●".as_bytes();
        r.output(b"\x1b[1;1Hready ").unwrap();
        r.output(&dot[..1]).unwrap();
        r.output(&dot[1..]).unwrap();
        r.resize(120, 40).unwrap();
        r.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(
            (lines[0]["width"].as_u64(), lines[0]["height"].as_u64()),
            (Some(100), Some(30))
        );
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "\x1b[1;1Hready ");
        assert_eq!(lines[2][2], "●", "the split character, whole");
        assert_eq!(lines.len(), 4);
        assert_eq!(
            (lines[3][1].as_str(), lines[3][2].as_str()),
            (Some("r"), Some("120x40"))
        );
        assert!(lines[1][0].as_f64().unwrap() <= lines[3][0].as_f64().unwrap());
    }
}
