//! The TUI's start and idle cost, measured on the real binary in tmux:
//! - time from launching `kwb --no-start` to its first full frame (median and worst of 10),
//!   next to the same measure for a program that prints the same text at once (tmux's share);
//! - kwb's CPU while idle over 10 s, and its RSS, with nothing running and with etcd running.
//!
//! `cargo bench --bench tui` (needs tmux; Debian's etcd for the second idle figure).

use std::process::Command;
use std::time::{Duration, Instant};

const KWB: &str = env!("CARGO_BIN_EXE_kwb");

struct Tmux(String);

impl Tmux {
    fn start(command: &str) -> Tmux {
        // A server per run: a killed server may still be exiting when the next run starts.
        static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Tmux(format!("kwb-bench-{}-{n}", std::process::id()));
        t.cmd(&[
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "100",
            "-y",
            "30",
            command,
        ]);
        t
    }
    fn cmd(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.0, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn wait_for(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.cmd(&["capture-pane", "-p", "-t", "b"]).contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }
    fn pane_pid(&self) -> u32 {
        self.cmd(&["display-message", "-p", "-t", "b", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("a pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

fn time_to_text(command: &str, text: &str) -> Duration {
    let t0 = Instant::now();
    let t = Tmux::start(command);
    assert!(
        t.wait_for(text, Duration::from_secs(20)),
        "{text:?} never appeared"
    );
    let took = t0.elapsed();
    t.cmd(&["send-keys", "-t", "b", "q"]);
    std::thread::sleep(Duration::from_millis(300));
    took
}

fn ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn idle(t: &Tmux, label: &str) {
    let pid = t.pane_pid();
    std::thread::sleep(Duration::from_secs(2));
    let (c0, t0) = (ticks(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let (c1, secs) = (ticks(pid), t0.elapsed().as_secs_f64());
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    println!(
        "{label:<38} cpu {:>5.2} %   rss {:>6.1} MiB",
        (c1 - c0) as f64 / hz / secs * 100.0,
        rss_kib(pid) as f64 / 1024.0
    );
}

fn main() {
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("tui bench skipped: tmux not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kwb.yaml");
    std::fs::write(&config, "components:\n  etcd:\n    backend: binary\n").unwrap();
    let kwb = format!(
        "exec {KWB} --no-start --config {} --data-dir {}",
        config.display(),
        dir.path().join("data").display()
    );
    // The first run makes the PKI; measure the usual start, with the data dir in place.
    time_to_text(&kwb, "q quit");
    let mut runs: Vec<Duration> = (0..10).map(|_| time_to_text(&kwb, "q quit")).collect();
    runs.sort();
    let mut base: Vec<Duration> = (0..10)
        .map(|_| time_to_text("printf 'q quit'; sleep 5", "q quit"))
        .collect();
    base.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "first frame (kwb --no-start)       median {:>6.1} ms   max {:>6.1} ms",
        ms(runs[5]),
        ms(runs[9])
    );
    println!(
        "same text from printf (tmux alone) median {:>6.1} ms   max {:>6.1} ms",
        ms(base[5]),
        ms(base[9])
    );

    let t = Tmux::start(&kwb);
    assert!(t.wait_for("q quit", Duration::from_secs(20)));
    idle(&t, "idle, every component stopped");
    if std::path::Path::new("/usr/bin/etcd").exists() {
        t.cmd(&["send-keys", "-t", "b", "s"]);
        assert!(
            t.wait_for("● ready", Duration::from_secs(30)),
            "etcd did not get ready"
        );
        idle(&t, "idle, etcd running (probed every 2 s)");
    }
    t.cmd(&["send-keys", "-t", "b", "q"]);
    std::thread::sleep(Duration::from_secs(2));
}
