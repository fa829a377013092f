//! Draws the editor over the body: the text with line numbers, YAML colours and marked lines;
//! the dry run's diff or the conflict; a note line and the keys of the step.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::editor::{Editor, Step};
use super::theme::Theme;

pub fn draw(editor: &mut Editor, theme: &Theme, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.get("pane.border.focused"))
        .title(Span::styled(
            format!(" {} ", editor.title()),
            theme.get("pane.title.focused"),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Two rows for the note: a server's message with its cause is often longer than one.
    let [text, note, keys] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(inner);
    match &editor.step {
        Step::Review { lines, scroll, .. } | Step::Conflict { lines, scroll, .. } => {
            draw_diff(lines, *scroll, theme, frame, text);
        }
        _ => draw_text(editor, theme, frame, text),
    }
    let (said, role) = note_line(editor);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(said, theme.get(role)))).wrap(Wrap { trim: false }),
        note,
    );
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            keys_line(editor),
            theme.get("footer"),
        )))
        .style(theme.get("footer")),
        keys,
    );
}

fn note_line(editor: &Editor) -> (String, &'static str) {
    if let Some(pattern) = &editor.finding {
        return (
            format!("find (text or regex): {pattern}▏  enter finds · esc cancels"),
            "text.strong",
        );
    }
    match &editor.step {
        Step::Leaving => (
            "discard your changes? y discards them, any other key keeps editing".into(),
            "footer.error",
        ),
        Step::Checking => ("asking the server for a dry run…".into(), "text"),
        Step::Sending => ("sending…".into(), "text"),
        Step::Conflict { .. } => (
            "409 Conflict: the object changed since you opened it. Your text is kept.".into(),
            "footer.error",
        ),
        Step::Review { .. } => (
            "the server's dry run: this is what would change; nothing is sent yet".into(),
            "text.strong",
        ),
        Step::Editing => match &editor.note {
            Some((text, true)) => (text.clone(), "footer.error"),
            Some((text, false)) => (text.clone(), "text"),
            None => (String::new(), "text"),
        },
    }
}

fn keys_line(editor: &Editor) -> String {
    match &editor.step {
        Step::Review { .. } => {
            let force = match &editor.opened {
                super::editor::Opened::New { .. } if editor.force => " · f apply without force",
                super::editor::Opened::New { .. } => {
                    " · f force (take over fields other managers own)"
                }
                _ => "",
            };
            format!(" y send it{force} · ↑↓ scroll · any other key back to the text")
        }
        Step::Conflict { .. } => " r reapply your change onto the new version · o overwrite with your text · ↑↓ scroll · esc keep editing".into(),
        Step::Checking | Step::Sending => " esc stops waiting (your text is kept)".into(),
        Step::Leaving => String::new(),
        Step::Editing => " ctrl-s apply (diff first) · ctrl-z/r undo/redo · ctrl-f find · shift+arrows select · ctrl-c/x/v copy/cut/paste · ctrl-e $EDITOR · esc leave".into(),
    }
}

fn draw_diff(lines: &[String], scroll: usize, theme: &Theme, frame: &mut Frame, area: Rect) {
    let scroll = scroll.min(lines.len().saturating_sub(usize::from(area.height)));
    let shown: Vec<Line> = lines
        .iter()
        .skip(scroll)
        .take(usize::from(area.height))
        .map(|l| Line::from(Span::styled(l.as_str(), theme.get(diff_role(l)))))
        .collect();
    frame.render_widget(Paragraph::new(shown), area);
}

/// The look of a line of a diff as `cluster::diff::text` writes it.
pub fn diff_role(line: &str) -> &'static str {
    if line.starts_with("▶ ") {
        "diff.header"
    } else if line.starts_with("+ ") {
        "diff.added"
    } else if line.starts_with("- ") {
        "diff.removed"
    } else if line.starts_with("@@") {
        "diff.folded"
    } else {
        "text"
    }
}

fn draw_text(editor: &mut Editor, theme: &Theme, frame: &mut Frame, area: Rect) {
    editor.area.set_style(theme.get("text"));
    editor
        .area
        .set_line_number_style(theme.get("editor.line-number"));
    editor.area.set_cursor_line_style(Style::default());
    editor.area.set_search_style(theme.get("search"));
    editor.area.set_selection_style(theme.get("table.selected"));
    frame.render_widget(&editor.area, area);
    // The textarea draws plain text; keys, comments and dashes are coloured over it.
    let (top, left) = editor.area.scroll_offset();
    let gutter = editor.area.line_number_width();
    let buffer = frame.buffer_mut();
    for y in 0..area.height {
        let row = usize::from(top) + usize::from(y);
        let Some(line) = editor.area.lines().get(row) else {
            break;
        };
        let marked = editor.marks.iter().any(|m| m.line == row);
        if marked {
            for x in area.x..(area.x + gutter).min(area.right()) {
                buffer[(x, area.y + y)].set_style(theme.get("editor.mark"));
            }
        }
        if !line.is_ascii() {
            continue;
        }
        for (start, end, role) in yaml_tokens(line) {
            let style = theme.get(role);
            for col in start.max(usize::from(left))..end {
                let x = usize::from(area.x + gutter) + col - usize::from(left);
                if x >= usize::from(area.right()) {
                    break;
                }
                let cell = &mut buffer[(x as u16, area.y + y)];
                // Cursor, selection and found text keep their own look.
                if cell.bg == theme.get("text").bg.unwrap_or_default() {
                    if let Some(fg) = style.fg {
                        cell.set_fg(fg);
                    }
                    cell.modifier.insert(style.add_modifier);
                }
            }
        }
    }
}

/// Coloured spans of one YAML line: (start, end, role) as byte offsets, which end at ASCII
/// delimiters (the editor colours ASCII lines only, where a byte is a column).
pub(super) fn yaml_tokens(line: &str) -> Vec<(usize, usize, &'static str)> {
    let mut out = Vec::new();
    let trimmed = line.trim_start();
    let mut at = line.len() - trimmed.len();
    if trimmed.starts_with('#') {
        return vec![(at, line.len(), "yaml.comment")];
    }
    if trimmed == "---" || trimmed.starts_with("--- ") {
        return vec![(at, line.len(), "yaml.punct")];
    }
    let mut rest = trimmed;
    while let Some(after) = rest
        .strip_prefix("- ")
        .or(rest.strip_prefix('-').filter(|r| r.is_empty()))
    {
        out.push((at, at + 1, "yaml.punct"));
        let skipped = rest.len() - after.trim_start().len();
        at += skipped;
        rest = after.trim_start();
    }
    let quoted = rest.starts_with('"') || rest.starts_with('\'');
    let key_end = if quoted {
        None
    } else {
        rest.find(": ")
            .or_else(|| rest.strip_suffix(':').map(str::len))
    };
    if let Some(end) = key_end
        && !rest[..end].contains(['{', '[', '#'])
    {
        out.push((at, at + end, "yaml.key"));
    }
    if let Some(c) = rest.find(" #") {
        out.push((at + c + 1, line.len(), "yaml.comment"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::apply::Mark;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    #[test]
    fn yaml_keys_dashes_and_comments_are_found() {
        assert_eq!(yaml_tokens("  name: web"), vec![(2, 6, "yaml.key")]);
        assert_eq!(
            yaml_tokens("- name: a # first"),
            vec![
                (0, 1, "yaml.punct"),
                (2, 6, "yaml.key"),
                (10, 17, "yaml.comment")
            ]
        );
        assert_eq!(yaml_tokens("# all"), vec![(0, 5, "yaml.comment")]);
        assert_eq!(yaml_tokens("spec:"), vec![(0, 4, "yaml.key")]);
        assert_eq!(yaml_tokens("  - nginx"), vec![(2, 3, "yaml.punct")]);
        assert_eq!(yaml_tokens("x: \"a: b\""), vec![(0, 1, "yaml.key")]);
        assert_eq!(
            yaml_tokens("- café: ü # é"),
            vec![
                (0, 1, "yaml.punct"),
                (2, 7, "yaml.key"),
                (12, 16, "yaml.comment")
            ]
        );
    }

    fn render(editor: &mut Editor) -> (String, ratatui::buffer::Buffer) {
        let theme = Theme::dark();
        let mut terminal = Terminal::new(TestBackend::new(100, 14)).unwrap();
        terminal
            .draw(|f| draw(editor, &theme, f, f.area()))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        let text = buffer
            .content()
            .chunks(100)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n");
        (text, buffer)
    }

    #[test]
    fn the_text_shows_numbered_coloured_and_marked() {
        let mut e = Editor::new_objects(
            "new deployment",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
            "team",
        );
        e.marks = vec![Mark {
            line: 3,
            column: 8,
            message: "unclosed".into(),
        }];
        e.note = Some(("line 4, column 9: unclosed · nothing was sent".into(), true));
        let (screen, buffer) = render(&mut e);
        assert!(
            screen.contains("new deployment → server-side apply as kwb"),
            "{screen}"
        );
        assert!(screen.contains("2 kind: ConfigMap"), "{screen}");
        assert!(screen.contains("line 4, column 9: unclosed"), "{screen}");
        assert!(screen.contains("ctrl-s apply (diff first)"), "{screen}");
        let theme = Theme::dark();
        // Row 1 is the first text row inside the border; "kind" on row 2.
        let key_cell = screen.lines().nth(2).unwrap().find("kind").unwrap();
        assert_eq!(
            buffer[(key_cell as u16, 2)].fg,
            theme.get("yaml.key").fg.unwrap()
        );
        let mark_bg = theme.get("editor.mark").bg.unwrap();
        assert_eq!(buffer[(2, 4)].bg, mark_bg, "line 4's number is marked");
    }

    #[test]
    fn the_review_shows_the_diff_and_its_keys() {
        let mut e = Editor::new_objects("new", "a: 1\n", "default");
        e.step = Step::Review {
            planned: vec![],
            lines: vec!["▶ configmaps default/a — created".into(), "+ a: 1".into()],
            scroll: 0,
        };
        let (screen, _) = render(&mut e);
        assert!(
            screen.contains("▶ configmaps default/a — created"),
            "{screen}"
        );
        assert!(screen.contains("y send it · f force"), "{screen}");
        assert!(screen.contains("nothing is sent yet"), "{screen}");
    }
}
