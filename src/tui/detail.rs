//! A detail view over the browser's list: one object's YAML, describe, events or logs, where
//! it is scrolled, what is searched, and — for logs — which containers, paused or followed,
//! wrapped or cut. Pure state; the event loop fills in the lines.

use crate::cluster::logs::LogOptions;
use crate::cluster::object::ObjectRef;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetailKind {
    Yaml,
    Describe,
    Events,
    Logs,
    /// A Deployment's rollout history.
    History,
    /// What undoing a Deployment to a revision (None: the previous one) changes.
    RevisionDiff(Option<i64>),
}

impl DetailKind {
    pub fn label(self) -> &'static str {
        match self {
            DetailKind::Yaml => "yaml",
            DetailKind::Describe => "describe",
            DetailKind::Events => "events",
            DetailKind::Logs => "logs",
            DetailKind::History => "history",
            DetailKind::RevisionDiff(_) => "diff",
        }
    }
}

/// Lines a followed log keeps; older ones are in the container's log on the node.
const LOG_LINES: usize = 10_000;

#[derive(Debug)]
pub struct Detail {
    pub kind: DetailKind,
    pub object: ObjectRef,
    pub lines: Vec<String>,
    pub error: Option<String>,
    pub loaded: bool,
    /// The first line shown (when not following).
    pub scroll: usize,
    /// Logs: keep the newest line in view (until scrolled up or paused).
    pub follow: bool,
    /// Logs: what is asked of the server.
    pub log: LogOptions,
    /// Logs: the containers there are to choose from (known once the streams open).
    pub containers: Vec<String>,
    /// Logs: said above the lines (e.g. only some of a workload's pods followed).
    pub note: Option<String>,
    /// Long lines continue on the next screen row instead of being cut.
    pub wrap: bool,
    /// Paused: how many lines there were then; newer ones arrive unseen until unpaused.
    pub paused: Option<usize>,
    /// Lines containing this (case-insensitive) are marked; n/N go from one to the next.
    pub search: Option<String>,
    /// The marked line n/N went to last.
    pub found: Option<usize>,
    pub(super) generation: u64,
}

impl Detail {
    pub fn new(kind: DetailKind, object: ObjectRef, log: LogOptions, generation: u64) -> Detail {
        Detail {
            kind,
            object,
            lines: Vec::new(),
            error: None,
            loaded: false,
            scroll: 0,
            follow: kind == DetailKind::Logs,
            log,
            containers: Vec::new(),
            note: None,
            wrap: false,
            paused: None,
            search: None,
            found: None,
            generation,
        }
    }

    /// `logs pods default/web-1`.
    pub fn title(&self) -> String {
        format!("{} {}", self.kind.label(), self.object.label())
    }

    /// How it is looked at, after its state in the title: the log options, the search,
    /// wrapping.
    pub fn looks(&self) -> String {
        let mut parts = Vec::new();
        if self.kind == DetailKind::Logs {
            parts.push(self.log.label());
        }
        if let Some(needle) = &self.search {
            parts.push(format!("/{needle}"));
        }
        if self.wrap {
            parts.push("wrapped".into());
        }
        parts.iter().map(|p| format!(" · {p}")).collect()
    }

    /// The whole text (YAML, describe, events refreshed), or why there is none. The scroll
    /// position stays where it was, so a refresh does not jump.
    pub fn set_text(&mut self, text: Result<String, String>) {
        match text {
            Ok(text) => {
                self.lines = text.lines().map(str::to_string).collect();
                self.loaded = true;
                self.error = None;
                self.scroll = self.scroll.min(self.lines.len().saturating_sub(1));
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// A new line of a followed log; the oldest go beyond [`LOG_LINES`].
    pub fn push_line(&mut self, line: String) {
        self.loaded = true;
        self.lines.push(line);
        if self.lines.len() > LOG_LINES {
            let extra = self.lines.len() - LOG_LINES;
            self.lines.drain(..extra);
            self.scroll = self.scroll.saturating_sub(extra);
            self.found = self.found.and_then(|f| f.checked_sub(extra));
            self.paused = self.paused.map(|n| n.saturating_sub(extra));
        }
    }

    /// The first line of the last screenful.
    fn last_top(&self, rows: usize) -> usize {
        self.lines.len().saturating_sub(rows.max(1))
    }

    /// The first line on screen.
    pub fn top(&self, rows: usize) -> usize {
        if self.follow {
            self.last_top(rows)
        } else {
            self.scroll
        }
    }

    /// Scrolls by `delta` lines (`rows` on screen); scrolling to the end of an unpaused log
    /// follows it again.
    pub fn scroll_by(&mut self, delta: i64, rows: usize) {
        let last_top = self.last_top(rows);
        self.scroll = self
            .top(rows)
            .saturating_add_signed(delta as isize)
            .min(last_top);
        self.follow =
            self.kind == DetailKind::Logs && self.paused.is_none() && self.scroll == last_top;
    }

    /// Space in a log: stop where it is (lines keep arriving below), or follow again.
    pub fn toggle_pause(&mut self, rows: usize) {
        if self.paused.take().is_some() {
            self.follow = true;
        } else {
            self.scroll = self.top(rows);
            self.follow = false;
            self.paused = Some(self.lines.len());
        }
    }

    /// Lines arrived since the pause.
    pub fn unseen(&self) -> usize {
        self.paused
            .map_or(0, |n| self.lines.len().saturating_sub(n))
    }

    /// Whether `line` contains the searched text.
    pub fn marked(&self, line: &str) -> bool {
        self.search
            .as_ref()
            .is_some_and(|s| line.to_lowercase().contains(s))
    }

    /// `/` then Enter: marks the lines containing `needle` and goes to the first (in a log
    /// the newest, as in the panes), or clears the search when empty.
    pub fn search_for(&mut self, needle: &str, rows: usize) -> Result<String, String> {
        self.found = None;
        if needle.is_empty() {
            self.search = None;
            return Ok("search cleared".into());
        }
        self.search = Some(needle.to_lowercase());
        let count = self.lines.iter().filter(|l| self.marked(l)).count();
        if count == 0 {
            return Err(format!("/{needle}: no match"));
        }
        let from = match self.kind {
            DetailKind::Logs => self.lines.len(),
            _ => 0,
        };
        let older = self.kind == DetailKind::Logs;
        if let Some(at) = self.find(from, older) {
            self.show(at, rows);
        }
        Ok(format!("/{needle}: {count} lines"))
    }

    /// n (`forward`) / N: the next marked line — downwards in YAML and describe, older in
    /// logs — wrapping around at the end.
    pub fn next_match(&mut self, forward: bool, rows: usize) -> Result<String, String> {
        let Some(needle) = self.search.clone() else {
            return Err("nothing searched: / first".into());
        };
        let up = forward == (self.kind == DetailKind::Logs);
        let at = self
            .found
            .unwrap_or_else(|| (self.top(rows) + rows / 3).min(self.lines.len().saturating_sub(1)));
        match self.find(at, up) {
            Some(line) => {
                self.show(line, rows);
                Ok(format!("/{needle}: line {}", line + 1))
            }
            None => Err(format!("/{needle}: no match")),
        }
    }

    /// The nearest marked line strictly before (`up`) or after `from`, wrapping around.
    fn find(&self, from: usize, up: bool) -> Option<usize> {
        let n = self.lines.len();
        if n == 0 {
            return None;
        }
        (1..=n)
            .map(|step| {
                if up {
                    (from + n * 2 - step) % n
                } else {
                    (from + step) % n
                }
            })
            .find(|&i| self.marked(&self.lines[i]))
    }

    /// Scrolls so `line` is a third of the way down, and stops following there.
    fn show(&mut self, line: usize, rows: usize) {
        self.found = Some(line);
        self.follow = false;
        self.scroll = line.saturating_sub(rows / 3).min(self.last_top(rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: usize) -> Detail {
        let object = crate::cluster::object::test_pod();
        let mut d = Detail::new(DetailKind::Logs, object, LogOptions::default(), 1);
        for i in 0..lines {
            let what = if i % 10 == 0 { "GET /health" } else { "GET /" };
            d.push_line(format!("{i} {what}"));
        }
        d
    }

    #[test]
    fn a_paused_log_stays_put_while_lines_arrive_and_follows_again_after() {
        let mut d = log(100);
        assert_eq!(d.top(10), 90);
        d.toggle_pause(10);
        for i in 100..130 {
            d.push_line(format!("{i}"));
        }
        assert_eq!(d.top(10), 90, "paused");
        assert_eq!(d.unseen(), 30);
        d.scroll_by(1_000, 10);
        assert!(!d.follow, "scrolling to the end does not unpause");
        d.toggle_pause(10);
        assert!(d.follow);
        assert_eq!(d.top(10), 120);
        assert_eq!(d.unseen(), 0);
    }

    #[test]
    fn the_oldest_lines_go_beyond_the_limit_and_positions_follow_them() {
        let mut d = log(LOG_LINES);
        d.toggle_pause(10);
        let at = d.top(10);
        d.push_line("new".into());
        assert_eq!(d.lines.len(), LOG_LINES);
        assert_eq!(d.top(10), at - 1, "the same line stays on top");
        assert_eq!(d.unseen(), 1);
    }

    #[test]
    fn search_in_a_log_starts_at_the_newest_match_and_n_goes_older() {
        let mut d = log(100);
        assert_eq!(d.search_for("HEALTH", 9), Ok("/HEALTH: 10 lines".into()));
        assert!(!d.follow);
        assert_eq!(d.found.unwrap(), 90, "the newest match, a third down");
        assert!(d.next_match(true, 9).is_ok());
        assert_eq!(d.found.unwrap(), 80);
        assert!(d.next_match(false, 9).is_ok());
        assert_eq!(d.found.unwrap(), 90);
        assert!(d.marked("1 GET /health") && !d.marked("1 GET /"));
        assert_eq!(d.search_for("nothing", 9), Err("/nothing: no match".into()));
        assert_eq!(d.search_for("", 9), Ok("search cleared".into()));
        assert_eq!(d.search, None);
    }

    #[test]
    fn search_in_yaml_goes_down_and_wraps_around() {
        let mut d = log(0);
        d.kind = DetailKind::Yaml;
        d.set_text(Ok((0..50)
            .map(|i| {
                if i % 20 == 5 {
                    "image: nginx\n".to_string()
                } else {
                    format!("k{i}: v\n")
                }
            })
            .collect()));
        assert!(d.search_for("image", 9).is_ok());
        assert_eq!(d.found.unwrap(), 5);
        d.next_match(true, 9).unwrap();
        assert_eq!(d.found.unwrap(), 25);
        d.next_match(true, 9).unwrap();
        assert_eq!(d.found.unwrap(), 45);
        d.next_match(true, 9).unwrap();
        assert_eq!(d.found.unwrap(), 5, "wrapped");
    }

    #[test]
    fn a_refreshed_text_keeps_the_scroll_position() {
        let mut d = log(0);
        d.kind = DetailKind::Events;
        d.follow = false;
        d.set_text(Ok("a\n".repeat(40)));
        d.scroll_by(20, 10);
        d.set_text(Ok("a\n".repeat(41)));
        assert_eq!(d.scroll, 20);
        assert!(d.title().starts_with("events pods default/web-1"));
    }
}
