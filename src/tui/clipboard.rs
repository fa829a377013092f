//! Copy to the clipboard: the desktop's (arboard, X11) when kwb runs under a display, else
//! the terminal's through OSC 52, which works over ssh and through tmux (`set-clipboard on`)
//! and needs no display server where kwb runs.

use std::io::Write;

pub struct Clipboard {
    /// Kept for the session: on X11 the copied text is served by this owner while it lives.
    system: Option<arboard::Clipboard>,
}

impl Clipboard {
    /// The desktop clipboard when there is a display, else none (OSC 52).
    pub fn open() -> Clipboard {
        let display = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
        let system = if display {
            arboard::Clipboard::new()
                .map_err(|e| tracing::info!("no desktop clipboard ({e}); copying with OSC 52"))
                .ok()
        } else {
            None
        };
        Clipboard { system }
    }

    pub fn copy(&mut self, text: &str) {
        if let Some(c) = self.system.as_mut() {
            match c.set_text(text) {
                Ok(()) => return,
                Err(e) => tracing::warn!("desktop clipboard: {e}; copying with OSC 52"),
            }
        }
        let mut out = std::io::stdout();
        let _ = out.write_all(osc52(text).as_bytes());
        let _ = out.flush();
    }
}

/// The escape sequence that asks the terminal to put `text` on the clipboard.
fn osc52(text: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

#[cfg(test)]
mod tests {
    #[test]
    fn osc52_carries_the_text_in_base64() {
        assert_eq!(super::osc52("web-1"), "\x1b]52;c;d2ViLTE=\x07");
    }
}
