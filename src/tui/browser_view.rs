//! Draws the resource browser: a title (resource, namespace, rows, the watch's state), the
//! server's Table columns as kubectl prints them (NAMESPACE first across all namespaces), and
//! only the rows that fit, so a list of thousands costs what a screenful does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::browser::{Browser, Detail, DetailKind};
use super::theme::Theme;

/// Widest a column gets before its cells are cut (the last one takes what is left).
const MAX_COLUMN: usize = 48;

/// The theme role of a status cell: what kubectl users read as fine, on its way, or broken.
/// Symbols go with the colours so meaning never rests on colour alone.
pub fn status_look(text: &str) -> Option<(&'static str, &'static str)> {
    let ok = [
        "Running",
        "Completed",
        "Succeeded",
        "Ready",
        "Bound",
        "Active",
        "Complete",
    ];
    let pending = [
        "Pending",
        "ContainerCreating",
        "PodInitializing",
        "Terminating",
        "SchedulingDisabled",
    ];
    if ok.contains(&text) {
        Some(("●", "state.ready"))
    } else if pending.contains(&text)
        || text.starts_with("Init:")
        || text.ends_with(",SchedulingDisabled")
    {
        Some(("◐", "state.pending"))
    } else if [
        "CrashLoopBackOff",
        "Error",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "NotReady",
        "Failed",
        "StartError",
        "Evicted",
        "OOMKilled",
    ]
    .contains(&text)
    {
        Some(("✖", "state.failed"))
    } else {
        None
    }
}

/// Draws `browser` in `area`; returns how many rows of the table fit (for paging).
pub fn draw(browser: &Browser, focused: bool, theme: &Theme, frame: &mut Frame, area: Rect) -> u16 {
    if let Some(detail) = &browser.detail {
        return draw_detail(detail, focused, theme, frame, area);
    }
    let Some(resource) = &browser.resource else {
        return 0;
    };
    let table = &browser.table;
    let all_namespaces = resource.namespaced && browser.namespace.is_none();
    let scope = if resource.namespaced {
        browser.namespace_label()
    } else {
        "cluster".into()
    };
    let state = match (&table.error, table.loaded) {
        (Some(e), _) => format!(" · ✖ {e}"),
        (None, false) => " · loading…".into(),
        (None, true) => String::new(),
    };
    let title_role = if focused {
        "pane.title.focused"
    } else {
        "pane.title"
    };
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " {} ({scope}){} · {}{state} ",
            resource.qualified(),
            browser.query.label(),
            match &browser.filter {
                Some(f) => format!(
                    "{} of {} rows match /{}",
                    browser.row_count(),
                    table.rows().len(),
                    f.text
                ),
                None => format!("{} rows", table.rows().len()),
            }
        ),
        theme.get(if table.error.is_some() {
            "footer.error"
        } else {
            title_role
        }),
    ))];

    // Columns kubectl get prints (priority 0), NAMESPACE first across namespaces.
    let shown: Vec<usize> = (0..table.columns.len())
        .filter(|&i| table.columns[i].priority == 0)
        .collect();
    let mut headers: Vec<String> = Vec::new();
    if all_namespaces {
        headers.push("NAMESPACE".into());
    }
    headers.extend(shown.iter().map(|&i| {
        let name = table.columns[i].name.to_uppercase();
        match browser.sort {
            Some(s) if s.column == i => format!("{name}{}", if s.descending { "↓" } else { "↑" }),
            _ => name,
        }
    }));
    let visible = usize::from(area.height.saturating_sub(2));
    let offset = (browser.selected + 1).saturating_sub(visible);
    let status_column = headers
        .iter()
        .position(|h| h.trim_end_matches(['↑', '↓']) == "STATUS");
    // Each visible row's cells, a status with its symbol, and the status's theme role.
    let rows: Vec<(Vec<String>, Option<&str>)> = browser
        .rows()
        .skip(offset)
        .take(visible)
        .map(|r| {
            let mut cells: Vec<String> = Vec::new();
            if all_namespaces {
                cells.push(r.namespace.clone());
            }
            cells.extend(
                shown
                    .iter()
                    .map(|&i| r.cells.get(i).cloned().unwrap_or_default()),
            );
            let mut role = None;
            if let Some(c) = status_column
                && let Some((symbol, look)) = status_look(&cells[c])
            {
                cells[c] = format!("{symbol} {}", cells[c]);
                role = Some(look);
            }
            (cells, role)
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for (r, _) in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count()).min(MAX_COLUMN);
        }
    }
    let fit = |text: &str, width: usize| -> String {
        let cut: String = text.chars().take(width).collect();
        format!("{cut:width$}   ")
    };
    lines.push(Line::from(Span::styled(
        headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| fit(h, *w))
            .collect::<String>(),
        theme.get("table.header"),
    )));
    for (i, (cells, status_role)) in rows.iter().enumerate() {
        let selected = focused && offset + i == browser.selected;
        let spans: Vec<Span> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(col, (text, w))| {
                let role = match status_role {
                    _ if selected => "table.selected",
                    Some(role) if Some(col) == status_column => role,
                    _ => "text",
                };
                Span::styled(fit(text, *w), theme.get(role))
            })
            .collect();
        lines.push(Line::from(spans));
    }
    if table.loaded && browser.row_count() == 0 {
        lines.push(Line::from(Span::styled(
            format!("No resources found in {scope}."),
            theme.get("text.dim"),
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
    u16::try_from(visible).unwrap_or(u16::MAX)
}

/// A detail view: its title (and state: following, paused, the line, the search), a note
/// if there is one, then the lines from its scroll position (a followed log: the newest),
/// cut at the edge or wrapped onto the next rows; YAML keys stand out, searched lines too.
fn draw_detail(
    detail: &Detail,
    focused: bool,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) -> u16 {
    let width = usize::from(area.width.max(1));
    let note_rows = usize::from(detail.note.is_some());
    let rows = usize::from(area.height.saturating_sub(1)).saturating_sub(note_rows);
    let top = if detail.wrap && detail.follow {
        wrapped_tail_top(&detail.lines, width, rows)
    } else {
        detail.top(rows)
    };
    let mut state = match (&detail.error, detail.loaded) {
        (Some(e), _) => format!(" · ✖ {e}"),
        (None, false) => " · loading…".into(),
        (None, true) if detail.paused.is_some() => {
            format!(" · paused, {} new lines below", detail.unseen())
        }
        (None, true) if detail.follow => " · following".into(),
        (None, true) => format!(" · line {}/{}", top + 1, detail.lines.len()),
    };
    state.push_str(&detail.looks());
    let role = match (&detail.error, focused) {
        (Some(_), _) => "footer.error",
        (None, true) => "pane.title.focused",
        (None, false) => "pane.title",
    };
    let mut lines = vec![Line::from(Span::styled(
        format!(" {}{state} · esc back ", detail.title()),
        theme.get(role),
    ))];
    if let Some(note) = &detail.note {
        lines.push(Line::from(Span::styled(
            note.clone(),
            theme.get("text.dim"),
        )));
    }
    let mut body: Vec<Line> = Vec::new();
    for (i, text) in detail.lines.iter().enumerate().skip(top) {
        if body.len() >= rows {
            break;
        }
        let look = if detail.found == Some(i) {
            Some(theme.get("search"))
        } else if detail.marked(text) {
            Some(theme.get("log.match"))
        } else {
            None
        };
        if detail.wrap {
            for chunk in chunks(text, width) {
                body.push(Line::from(Span::styled(
                    chunk,
                    look.unwrap_or(theme.get("text")),
                )));
            }
            continue;
        }
        body.push(match (look, detail.kind) {
            (Some(style), _) => Line::from(Span::styled(text.as_str(), style)),
            (None, DetailKind::Yaml) => yaml_line(text, theme),
            (None, DetailKind::RevisionDiff(_)) => Line::from(Span::styled(
                text.as_str(),
                theme.get(super::editor_view::diff_role(text)),
            )),
            (None, _) => Line::from(Span::styled(text.as_str(), theme.get("text"))),
        });
    }
    body.truncate(rows);
    lines.extend(body);
    frame.render_widget(Paragraph::new(lines), area);
    u16::try_from(rows).unwrap_or(u16::MAX)
}

/// `text` in pieces of `width` characters (at least one piece, even when empty).
fn chunks(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// The first line to show so that the last lines, wrapped at `width`, fill `rows`.
fn wrapped_tail_top(lines: &[String], width: usize, rows: usize) -> usize {
    let mut used = 0;
    let mut top = lines.len();
    while top > 0 {
        let height = lines[top - 1].chars().count().div_ceil(width.max(1)).max(1);
        if used + height > rows && used > 0 {
            break;
        }
        used += height;
        top -= 1;
    }
    top
}

/// A YAML line with its key in the header role.
/// A YAML line coloured as the editor colours it (keys, comments, dashes).
fn yaml_line<'a>(text: &'a str, theme: &Theme) -> Line<'a> {
    let mut spans = Vec::new();
    let mut at = 0;
    for (start, end, role) in super::editor_view::yaml_tokens(text) {
        // The tokens end at ASCII delimiters, so these are character boundaries.
        if start < at || end > text.len() {
            continue;
        }
        if start > at {
            spans.push(Span::styled(&text[at..start], theme.get("text")));
        }
        spans.push(Span::styled(&text[start..end], theme.get(role)));
        at = end;
    }
    spans.push(Span::styled(&text[at..], theme.get("text")));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::table::{Column, Row, Update};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    #[test]
    fn the_yaml_view_colours_as_the_editor_does() {
        let theme = Theme::dark();
        let line = yaml_line("  - name: café # ü", &theme);
        let parts: Vec<(&str, ratatui::style::Style)> = line
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style))
            .collect();
        assert_eq!(
            parts,
            [
                ("  ", theme.get("text")),
                ("-", theme.get("yaml.punct")),
                (" ", theme.get("text")),
                ("name", theme.get("yaml.key")),
                (": café ", theme.get("text")),
                ("# ü", theme.get("yaml.comment")),
                ("", theme.get("text")),
            ]
        );
    }

    fn browser(namespace: Option<&str>, rows: usize) -> Browser {
        let mut b = Browser::default();
        b.catalog(crate::cluster::resources::test_catalog());
        b.command(&format!("po {}", namespace.unwrap_or("all")));
        let column = |name: &str, priority| Column {
            name: name.into(),
            priority,
        };
        let rows = (0..rows)
            .map(|i| Row {
                namespace: "default".into(),
                name: format!("web-{i:05}"),
                cells: vec![
                    format!("web-{i:05}"),
                    "1/1".into(),
                    if i == 1 {
                        "CrashLoopBackOff"
                    } else {
                        "Running"
                    }
                    .into(),
                    "127.244.0.9".into(),
                ],
            })
            .collect();
        b.update(
            b.generation,
            Update::Reset {
                columns: vec![
                    column("Name", 0),
                    column("Ready", 0),
                    column("Status", 0),
                    column("IP", 1),
                ],
                rows,
            },
        );
        b
    }

    fn render(b: &Browser, focused: bool, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| {
            draw(b, focused, &Theme::dark(), f, f.area());
        })
        .unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
            .collect()
    }

    #[test]
    fn rows_show_kubectl_columns_with_status_symbols() {
        let b = browser(Some("default"), 3);
        let screen = render(&b, true, 80, 10);
        assert!(screen.contains(" pods (default) · 3 rows "), "{screen}");
        assert!(screen.contains("NAME        READY   STATUS"), "{screen}");
        assert!(
            !screen.contains("IP"),
            "wide-only columns stay out: {screen}"
        );
        assert!(screen.contains("web-00000   1/1     ● Running"), "{screen}");
        assert!(screen.contains("✖ CrashLoopBackOff"), "{screen}");
        let all = render(&browser(None, 1), true, 80, 10);
        assert!(all.contains("NAMESPACE   NAME"), "{all}");
        assert!(all.contains("pods (all namespaces)"), "{all}");
    }

    #[test]
    fn a_detail_replaces_the_list_and_a_followed_log_shows_its_end() {
        let mut b = browser(Some("default"), 3);
        let (wants, _) = b.open(DetailKind::Logs);
        let [crate::tui::browser::Want::Detail { generation, .. }] = &wants[..] else {
            panic!("{wants:?}");
        };
        for i in 0..50 {
            b.detail_line(*generation, format!("GET /{i} 200"));
        }
        let screen = render(&b, true, 80, 10);
        assert!(
            screen
                .contains(" logs pods default/web-00000 · following · all containers · esc back "),
            "{screen}"
        );
        assert!(
            screen.contains("GET /49 200") && !screen.contains("GET /40 200"),
            "{screen}"
        );
        assert!(!screen.contains("NAME"), "{screen}");
        let (wants, _) = b.open(DetailKind::Yaml);
        let [crate::tui::browser::Want::Detail { generation, .. }] = &wants[..] else {
            panic!("{wants:?}");
        };
        b.detail_text(*generation, Ok("metadata:\n  name: web-00000\n".into()));
        let screen = render(&b, true, 80, 10);
        assert!(screen.contains("  name: web-00000"), "{screen}");
        assert!(screen.contains("line 1/2"), "{screen}");
    }

    #[test]
    fn only_the_rows_that_fit_are_drawn_and_the_selection_stays_visible() {
        let mut b = browser(Some("default"), 10_000);
        b.move_selection(5_000);
        let screen = render(&b, true, 100, 20);
        assert!(screen.contains("web-05000"), "{screen}");
        assert!(!screen.contains("web-04000"), "{screen}");
        assert!(screen.contains("10000 rows"), "{screen}");
    }

    #[test]
    fn a_wrapped_log_shows_its_end_and_searched_lines_are_marked() {
        let mut b = browser(Some("default"), 1);
        let (wants, _) = b.open(DetailKind::Logs);
        let [crate::tui::browser::Want::Detail { generation, .. }] = &wants[..] else {
            panic!("{wants:?}");
        };
        for i in 0..20 {
            b.detail_line(*generation, format!("{i:02} {}", "x".repeat(70)));
        }
        b.detail_line(*generation, format!("last {}end", "y".repeat(100)));
        let d = b.detail.as_mut().unwrap();
        d.wrap = true;
        let screen = render(&b, true, 60, 8);
        assert!(
            screen.contains("yyyend"),
            "the end of the last line, wrapped: {screen}"
        );
        assert!(render(&b, true, 120, 8).contains(" · wrapped"), "{screen}");
        let cut = {
            b.detail.as_mut().unwrap().wrap = false;
            render(&b, true, 60, 8)
        };
        assert!(!cut.contains("end"), "cut at the edge: {cut}");
        let d = b.detail.as_mut().unwrap();
        assert!(d.search_for("19 ", 7).is_ok());
        let screen = render(&b, true, 80, 8);
        assert!(screen.contains(" · /19 "), "{screen}");
        assert!(screen.contains("19 xxxx"), "{screen}");
        b.detail.as_mut().unwrap().toggle_pause(7);
        let screen = render(&b, true, 100, 8);
        assert!(screen.contains("paused, 0 new lines below"), "{screen}");
    }

    #[test]
    fn wrapping_counts_rows_per_line() {
        assert_eq!(chunks("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(chunks("", 3), [""]);
        let lines: Vec<String> = ["a", "bbbbbbb", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            wrapped_tail_top(&lines, 3, 4),
            1,
            "c and three rows of b fit"
        );
        assert_eq!(
            wrapped_tail_top(&lines, 3, 3),
            2,
            "only c: b does not fit whole"
        );
        assert_eq!(wrapped_tail_top(&lines, 3, 1), 2);
    }
}
