//! Presenter mode (`--present`): the last keys pressed and what each did, in a box the room
//! can read (`u  rollout undo by-kwb/web`), fading after a few seconds; clocks that tick
//! every second are hidden, so the screen only moves when something happens.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::theme::Theme;

/// Keys shown at once.
const SHOWN: usize = 4;
/// How long a key stays on screen.
pub const FADE: Duration = Duration::from_secs(4);

#[derive(Debug, Default)]
pub struct Presenter {
    /// Newest last: the key as written in keymaps, what it did, when.
    keys: VecDeque<(String, String, Instant)>,
}

impl Presenter {
    pub fn pressed(&mut self, key: impl Into<String>, did: impl Into<String>) {
        self.keys
            .push_back((key.into(), did.into(), Instant::now()));
        while self.keys.len() > SHOWN {
            self.keys.pop_front();
        }
    }

    /// Drops the keys shown long enough; true while some are left (the clock matters).
    pub fn fade(&mut self) -> bool {
        self.keys.retain(|(_, _, at)| at.elapsed() < FADE);
        !self.keys.is_empty()
    }

    pub fn showing(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The box at the bottom right of `area`.
    pub fn draw(&self, theme: &Theme, frame: &mut Frame, area: Rect) {
        if self.keys.is_empty() || area.height < 3 {
            return;
        }
        let lines: Vec<Line> = self
            .keys
            .iter()
            .map(|(key, did, _)| {
                Line::from(vec![
                    Span::styled(format!(" {key} "), theme.get("overlay.key")),
                    Span::styled(format!(" {did} "), theme.get("overlay.action")),
                ])
            })
            .collect();
        let width = lines
            .iter()
            .map(|l| l.width())
            .max()
            .unwrap_or(0)
            .min(usize::from(area.width)) as u16;
        let height = (lines.len() as u16).min(area.height);
        let at = Rect {
            x: area.right() - width,
            y: area.bottom() - height,
            width,
            height,
        };
        frame.render_widget(Clear, at);
        frame.render_widget(Paragraph::new(lines).style(theme.get("overlay")), at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    #[test]
    fn the_last_keys_show_with_what_they_did_then_fade() {
        let mut p = Presenter::default();
        for i in 0..6 {
            p.pressed(format!("k{i}"), format!("did {i}"));
        }
        let mut terminal = Terminal::new(TestBackend::new(60, 10)).unwrap();
        terminal
            .draw(|f| p.draw(&Theme::dark(), f, f.area()))
            .unwrap();
        let screen: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(screen.contains(" k5  did 5 "), "{screen}");
        assert!(
            screen.contains(" k2  did 2 ") && !screen.contains("k1"),
            "{screen}"
        );
        assert!(p.fade(), "fresh keys stay");
        for k in p.keys.iter_mut() {
            k.2 =
                k.2.checked_sub(FADE)
                    .expect("the machine has been up longer than FADE");
        }
        assert!(!p.fade() && !p.showing());
    }
}
