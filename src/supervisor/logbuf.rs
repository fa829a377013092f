//! A bounded ring of a component's recent output lines: memory stays flat however much a
//! component prints. Lines are numbered so a view can keep its place while the ring moves.

use std::collections::VecDeque;

/// Where a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Stdout,
    Stderr,
    /// Written by kwb's supervisor: the command line, exits, restarts.
    Supervisor,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    pub source: Source,
    pub text: String,
}

/// Longest line kept; the rest is cut so one runaway line cannot hold megabytes.
pub const MAX_LINE_BYTES: usize = 4096;

impl LogLine {
    /// A line made safe to draw: escape sequences removed, tabs expanded, other control
    /// characters shown as `?`, and cut at [`MAX_LINE_BYTES`].
    pub fn new(source: Source, text: impl Into<String>) -> LogLine {
        let mut text = sanitize(&text.into());
        if text.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        LogLine { source, text }
    }
}

/// Terminal escape sequences in a component's output would move the TUI's cursor or change its
/// colours, so CSI/OSC sequences are dropped and other control characters replaced.
fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    // CSI: parameters and intermediates up to a final byte in @..~
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    // OSC: up to BEL or ESC \\
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            },
            '\t' => out.push_str("    "),
            '\r' => {}
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Debug)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Number of the oldest line kept; lines are numbered from 0 since the buffer was made.
    first: u64,
}

impl LogBuffer {
    pub fn new(capacity: usize) -> LogBuffer {
        assert!(capacity > 0, "a log buffer holds at least one line");
        LogBuffer {
            lines: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            first: 0,
        }
    }

    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.first += 1;
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Number of the oldest line still kept.
    pub fn first_number(&self) -> u64 {
        self.first
    }

    /// Number the next pushed line will get.
    pub fn end_number(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    /// The line numbered `n`, if still kept.
    pub fn get(&self, n: u64) -> Option<&LogLine> {
        n.checked_sub(self.first)
            .and_then(|i| self.lines.get(usize::try_from(i).ok()?))
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, &LogLine)> {
        let first = self.first;
        self.lines
            .iter()
            .enumerate()
            .map(move |(i, l)| (first + i as u64, l))
    }

    /// The newest line before `before` (exclusive) containing `needle`, case-insensitively.
    pub fn find_backward(&self, needle: &str, before: u64) -> Option<u64> {
        let needle = needle.to_lowercase();
        self.iter()
            .rev()
            .filter(|(n, _)| *n < before)
            .find(|(_, l)| l.text.to_lowercase().contains(&needle))
            .map(|(n, _)| n)
    }

    /// The oldest line after `after` (exclusive) containing `needle`, case-insensitively.
    pub fn find_forward(&self, needle: &str, after: u64) -> Option<u64> {
        let needle = needle.to_lowercase();
        self.iter()
            .filter(|(n, _)| *n > after)
            .find(|(_, l)| l.text.to_lowercase().contains(&needle))
            .map(|(n, _)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> LogLine {
        LogLine::new(Source::Stdout, s)
    }

    #[test]
    fn keeps_only_the_newest_lines_and_numbers_them() {
        let mut b = LogBuffer::new(3);
        for i in 0..10 {
            b.push(line(&format!("l{i}")));
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.first_number(), 7);
        assert_eq!(b.end_number(), 10);
        assert_eq!(b.get(7).unwrap().text, "l7");
        assert!(b.get(6).is_none());
        assert!(b.get(10).is_none());
    }

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_LINE_BYTES);
        let l = LogLine::new(Source::Stderr, long);
        assert!(l.text.len() <= MAX_LINE_BYTES + '…'.len_utf8());
        assert!(l.text.ends_with('…'));
    }

    #[test]
    fn escape_sequences_and_control_characters_are_made_harmless() {
        let l = LogLine::new(
            Source::Stdout,
            "\u{1b}[31mred\u{1b}[0m\ttab\u{1b}]0;title\u{7}\u{0}end\r",
        );
        assert_eq!(l.text, "red    tab?end");
    }

    #[test]
    fn search_both_ways_ignoring_case() {
        let mut b = LogBuffer::new(10);
        for s in ["start", "ERROR one", "ok", "error two", "ok"] {
            b.push(line(s));
        }
        assert_eq!(b.find_backward("error", b.end_number()), Some(3));
        assert_eq!(b.find_backward("error", 3), Some(1));
        assert_eq!(b.find_backward("error", 1), None);
        assert_eq!(b.find_forward("error", 1), Some(3));
        assert_eq!(b.find_forward("nothing", 0), None);
    }
}
