//! Drawing: reads the [`State`] and the [`Theme`], writes a frame. No I/O, no waiting.
//!
//! Layout, readable from 80x24: a header line, the body, a bottom bar. In the body the six
//! component panes stack like an accordion — the focused one gets most rows, the others keep
//! a title and their newest lines. From 100 columns the resource-browser area sits on the left.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::keymap::{COMMANDS, Cmd, Keymap};
use super::state::{Pane, State};
use super::theme::Theme;
use crate::supervisor::lifecycle::Phase;
use crate::supervisor::logbuf::Source;

/// Width from which the resource-browser area is shown beside the panes.
const BROWSER_MIN_WIDTH: u16 = 100;

pub fn view(state: &mut State, theme: &Theme, keymap: &Keymap, frame: &mut Frame) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    state.browser.prepare();
    state.areas = Default::default();
    draw_header(state, theme, frame, header);
    draw_footer(state, theme, keymap, frame, footer);
    if state.panes.is_empty() {
        // Attached: the browser, and beside it what the cluster reveals of its components.
        let browser = if body.width >= BROWSER_MIN_WIDTH {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(65), Constraint::Percentage(35)])
                    .areas(body);
            let block = Block::default()
                .borders(Borders::LEFT)
                .border_style(theme.get("pane.border"));
            let inner = block.inner(right);
            frame.render_widget(block, right);
            super::health_view::draw(state.health.as_ref(), theme, frame, inner);
            left
        } else {
            body
        };
        state.areas.browser = Some(browser);
        let browser = draw_change_log(state, theme, frame, browser);
        let rows = super::browser_view::draw(&state.browser, true, theme, frame, browser);
        state.page_rows = rows.max(1);
    } else if state.zoomed {
        let mut panes = vec![Rect::default(); state.panes.len()];
        panes[state.focus] = body;
        state.areas.panes = panes;
        let rows = draw_pane(
            &state.panes[state.focus],
            true,
            theme,
            frame,
            body,
            (true, state.present.is_some()),
        );
        state.page_rows = rows;
    } else if body.width >= BROWSER_MIN_WIDTH {
        // The browser, when it has the focus, gets the wider half: tables need the columns.
        let browser = if state.browser_focus { 65 } else { 40 };
        let [left, right] = Layout::horizontal([
            Constraint::Percentage(browser),
            Constraint::Percentage(100 - browser),
        ])
        .areas(body);
        // Panes first: the browser's page size wins while it has the focus.
        draw_panes(state, theme, frame, right);
        draw_browser_area(state, theme, frame, left);
    } else if state.browser_focus && state.browser.resource.is_some() {
        // Too narrow for both: the focused browser takes the screen; tab or esc gives it
        // back to the panes.
        state.areas.browser = Some(body);
        let body = draw_change_log(state, theme, frame, body);
        let rows = super::browser_view::draw(&state.browser, true, theme, frame, body);
        state.page_rows = rows.max(1);
    } else {
        draw_panes(state, theme, frame, body);
    }
    if let Some(tour) = &state.tour {
        tour.draw(theme, frame, body);
    }
    if let Some(editor) = state.editor.as_mut() {
        super::editor_view::draw(editor, theme, frame, body);
    }
    if let Some(p) = &state.present {
        // Above the tour's box, which has the bottom rows.
        let free = match &state.tour {
            Some(_) => Rect {
                height: body.height.saturating_sub(super::tour::HEIGHT),
                ..body
            },
            None => body,
        };
        p.draw(theme, frame, free);
    }
    if state.help {
        state.help_scroll = draw_help(theme, keymap, frame, body, state.help_scroll);
    }
}

fn draw_header(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let readonly = if state.info.readonly {
        " · read-only"
    } else {
        ""
    };
    if let Some(why) = lost(state) {
        // What is on screen is the last state seen; say so where everyone looks first.
        let line = Line::from(vec![
            Span::styled(" kwb ", theme.get("header.title")),
            Span::styled(
                format!(
                    " ✖ the cluster does not answer: {why} · retrying; the screen shows what was last seen"
                ),
                theme.get("footer.error"),
            ),
        ]);
        frame.render_widget(Paragraph::new(line).style(theme.get("footer.error")), area);
        return;
    }
    // Room for " kwb " and the facts; on a narrow screen the least needed go first.
    let room = usize::from(area.width).saturating_sub(6);
    if let Some(a) = &state.info.attached {
        let facts = fit_facts(
            &[
                (format!("context {}", a.context), 0),
                (format!("cluster {}", state.info.name), 3),
                (format!("user {}", a.user), 2),
                (state.browser.namespace_label(), 0),
                (format!("server {}", a.server_version), 1),
                (format!("kwb {}", env!("CARGO_PKG_VERSION")), 4),
            ],
            room.saturating_sub(readonly.len()),
        );
        let line = Line::from(vec![
            Span::styled(" kwb ", theme.get("header.title")),
            Span::styled(format!(" {facts}{readonly}"), theme.get("header")),
        ]);
        frame.render_widget(Paragraph::new(line).style(theme.get("header")), area);
        return;
    }
    let units = state.panes.iter().flat_map(|p| p.statuses());
    let (ready, total) = units.fold((0, 0), |(r, t), s| {
        (r + usize::from(s.phase == Phase::Ready), t + 1)
    });
    let facts = fit_facts(
        &[
            (format!("cluster {}", state.info.name), 2),
            ("local".to_string(), 3),
            (format!("{ready}/{total} ready"), 0),
            (state.info.apiserver_url.clone(), 1),
            (state.browser.namespace_label(), 0),
            (format!("kwb {}", env!("CARGO_PKG_VERSION")), 4),
        ],
        room.saturating_sub(readonly.len()),
    );
    let line = Line::from(vec![
        Span::styled(" kwb ", theme.get("header.title")),
        Span::styled(format!(" {facts}{readonly}"), theme.get("header")),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.get("header")), area);
}

/// The facts joined with ` · ` in their order, leaving out the ones with the highest `drop`
/// rank first until the line fits `room` columns (rank 0 always stays).
fn fit_facts(facts: &[(String, u8)], room: usize) -> String {
    let mut kept: Vec<&(String, u8)> = facts.iter().collect();
    loop {
        let line = kept
            .iter()
            .map(|(f, _)| f.as_str())
            .collect::<Vec<_>>()
            .join(" · ");
        let droppable = kept
            .iter()
            .enumerate()
            .filter(|(_, (_, rank))| *rank > 0)
            .max_by_key(|(_, (_, rank))| *rank)
            .map(|(i, _)| i);
        match droppable {
            Some(i) if line.chars().count() > room => {
                kept.remove(i);
            }
            _ => return line,
        }
    }
}

/// Changes shown under the browser: the newest few of the log.
const CHANGES_SHOWN: usize = 3;

/// The change log's newest entries at the bottom of `area` (when there are any): time, what
/// was done, the request sent, the answer. Returns the area left above it.
fn draw_change_log(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) -> Rect {
    let log = &state.changes.log;
    if log.is_empty() {
        return area;
    }
    let shown = &log[log.len().saturating_sub(CHANGES_SHOWN)..];
    let height = (shown.len() * 2 + 1) as u16;
    if area.height < height + 4 {
        return area;
    }
    let [above, strip] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(height)]).areas(area);
    let mut lines = vec![Line::from(Span::styled(
        format!(" changes sent · {} in all ", log.len()),
        theme.get("pane.title"),
    ))];
    for e in shown {
        let (symbol, role, answer, sent) = match &e.result {
            Ok(done) => ("✔", "state.ready", done.answer.as_str(), done.sent.as_str()),
            Err(why) => ("✖", "state.failed", why.as_str(), ""),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", e.at), theme.get("text.dim")),
            Span::styled(format!("{symbol} "), theme.get(role)),
            Span::styled(format!("{} → {answer}", e.summary), theme.get("text")),
        ]));
        lines.push(Line::from(Span::styled(
            format!("   {sent}"),
            theme.get("text.dim"),
        )));
    }
    frame.render_widget(Paragraph::new(lines), strip);
    above
}

/// Attached: why the last look at the cluster got no answer (unreachable, credentials
/// refused), if it did not.
fn lost(state: &State) -> Option<&str> {
    state.info.attached.as_ref()?;
    state
        .health
        .as_ref()?
        .version
        .as_ref()
        .err()
        .map(String::as_str)
}

fn draw_footer(state: &State, theme: &Theme, keymap: &Keymap, frame: &mut Frame, area: Rect) {
    let line = if let Some(input) = &state.browser.input {
        Line::from(vec![
            Span::styled(" :", theme.get("footer.key")),
            Span::styled(format!("{input}▏"), theme.get("footer.message")),
            Span::styled(
                match state.browser.completions() {
                    c if c.is_empty() => {
                        "  tab complete · ↑ history · enter browse · esc cancel".to_string()
                    }
                    c => format!(
                        "  tab: {}",
                        c.iter().take(8).cloned().collect::<Vec<_>>().join(" ")
                    ),
                },
                theme.get("footer"),
            ),
        ])
    } else if let Some(ask) = &state.changes.asking {
        Line::from(vec![
            Span::styled(" ? ", theme.get("footer.key")),
            Span::styled(ask.question(), theme.get("footer.message")),
        ])
    } else if let Some(input) = &state.search_input {
        let what = if state.filtering() {
            " filter (text or regex): "
        } else {
            " search: "
        };
        Line::from(vec![
            Span::styled(what, theme.get("footer.key")),
            Span::styled(format!("{input}▏"), theme.get("footer.message")),
            Span::styled("  enter find · esc cancel", theme.get("footer")),
        ])
    } else if let Some((text, error, _)) = &state.message {
        let role = if *error {
            "footer.error"
        } else {
            "footer.message"
        };
        Line::from(Span::styled(format!(" {text}"), theme.get(role)))
    } else {
        let mut spans = vec![Span::raw(" ")];
        let local = [
            (Cmd::FocusNext, "focus"),
            (Cmd::Zoom, "zoom"),
            (Cmd::Start, "start"),
            (Cmd::Stop, "stop"),
            (Cmd::Restart, "restart"),
            (Cmd::StartAll, "all"),
            (Cmd::Search, "search"),
            (Cmd::Help, "help"),
            (Cmd::Quit, "quit"),
        ];
        let attached = [
            (Cmd::Command, "browse"),
            (Cmd::Search, "filter"),
            (Cmd::Yaml, "yaml"),
            (Cmd::Describe, "describe"),
            (Cmd::Logs, "logs"),
            (Cmd::Help, "help"),
            (Cmd::Quit, "quit"),
        ];
        let keys: &[(Cmd, &str)] = if state.panes.is_empty() {
            &attached
        } else {
            &local
        };
        for &(cmd, label) in keys {
            if let Some(k) = keymap.first_key(cmd) {
                spans.push(Span::styled(k, theme.get("footer.key")));
                spans.push(Span::styled(format!(" {label}  "), theme.get("footer")));
            }
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(theme.get("footer")), area);
}

/// The resource browser; before a first `:` command, how to reach the cluster.
fn draw_browser_area(state: &mut State, theme: &Theme, frame: &mut Frame, area: Rect) {
    state.areas.browser = Some(area);
    let block = Block::default()
        .borders(Borders::RIGHT)
        .border_style(theme.get("pane.border"));
    if state.browser.resource.is_some() {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let inner = draw_change_log(state, theme, frame, inner);
        let rows =
            super::browser_view::draw(&state.browser, state.browser_focus, theme, frame, inner);
        if state.browser_focus {
            state.page_rows = rows.max(1);
        }
        return;
    }
    let text = vec![
        Line::from(Span::styled("Cluster", theme.get("text.strong"))),
        Line::from(""),
        Line::from(Span::styled("Use it with kubectl:", theme.get("text"))),
        Line::from(Span::styled(
            format!("export KUBECONFIG={}", state.info.kubeconfig),
            theme.get("text.strong"),
        )),
        Line::from(""),
        Line::from(Span::styled(
            format!("data dir {}", state.info.data_dir),
            theme.get("text.dim"),
        )),
        Line::from(""),
        Line::from(Span::styled(
            "Browse the cluster: type :po, :deploy, :nodes, :svc kube-system, :ns all",
            theme.get("text.dim"),
        )),
    ];
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(block),
        area,
    );
}

/// Rows of each pane: unfocused panes get `small` rows (title + newest lines), the focused one
/// the rest.
pub fn pane_heights(total: u16, panes: usize, focus: usize) -> Vec<u16> {
    let n = panes as u16;
    if n == 0 {
        return vec![];
    }
    let small = ((total * 3 / 5) / n.saturating_sub(1).max(1)).clamp(1, 10);
    let small = if small * (n - 1) >= total {
        (total.saturating_sub(1) / (n - 1).max(1)).max(1)
    } else {
        small
    };
    (0..n)
        .map(|i| {
            if usize::from(i) == focus {
                total.saturating_sub(small * (n - 1)).max(1)
            } else {
                small
            }
        })
        .collect()
}

fn draw_panes(state: &mut State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let heights = pane_heights(area.height, state.panes.len(), state.focus);
    let areas = Layout::vertical(heights.iter().map(|h| Constraint::Length(*h))).split(area);
    state.areas.panes = areas.to_vec();
    let mut page_rows = state.page_rows;
    for (i, pane) in state.panes.iter().enumerate() {
        let present = state.present.is_some();
        let rows = draw_pane(
            pane,
            i == state.focus,
            theme,
            frame,
            areas[i],
            (false, present),
        );
        if i == state.focus {
            page_rows = rows;
        }
    }
    state.page_rows = page_rows;
}

/// Draws one pane; returns how many log rows it showed.
fn draw_pane(
    pane: &Pane,
    focused: bool,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    (zoomed, present): (bool, bool),
) -> u16 {
    if area.height == 0 {
        return 0;
    }
    let s = &pane.status;
    let title_role = if focused {
        "pane.title.focused"
    } else {
        "pane.title"
    };
    let title_style = theme.get(title_role);
    let (symbol, state_role) = phase_look(s.phase);
    // Presenting, the focused pane is marked so the room sees where the keys go.
    let marker = if present && focused { "▶ " } else { "" };
    let mut title = vec![
        Span::styled(format!(" {marker}{} ", s.component.name()), title_style),
        Span::styled(
            format!(" {symbol} {} ", s.phase.label()),
            theme.get(state_role),
        ),
    ];
    let mut facts = Vec::new();
    if let Some(pid) = s.pid {
        facts.push(format!("pid {pid}"));
    }
    // A clock ticking every second is noise on a shared screen.
    if let Some(up) = s
        .started_at
        .filter(|_| !present)
        .and_then(|t| SystemTime::now().duration_since(t).ok())
    {
        facts.push(format!("up {}", short_duration(up.as_secs())));
    }
    facts.push(format!("restarts {}", s.restarts));
    facts.push(format!(
        "exit {}",
        s.last_exit.map_or("–".to_string(), |e| e.to_string())
    ));
    title.push(Span::styled(
        format!(" {}", facts.join("  ")),
        theme.get("pane.detail"),
    ));
    let title_line = Line::from(title);

    let detail = detail_line(pane);
    let mut lines = vec![title_line];
    let mut rows_left = area.height - 1;
    // The backend/probe line when there is room for it and at least one log line.
    if rows_left >= 2 || (zoomed && rows_left >= 1) {
        lines.push(Line::from(Span::styled(detail, theme.get("pane.detail"))));
        rows_left -= 1;
    }
    let log_rows = rows_left;
    lines.extend(log_lines(pane, log_rows, area.width, theme));
    let mut widget = Paragraph::new(lines);
    if focused {
        widget = widget.style(Style::default());
    }
    frame.render_widget(widget, area);
    log_rows
}

fn detail_line(pane: &Pane) -> String {
    let s = &pane.status;
    let mut parts = vec![format!("{}", s.backend)];
    if !pane.other_nodes.is_empty() {
        // Several nodes' kubelets: the title is the first node's; here is every node's state.
        let nodes: Vec<String> = pane
            .statuses()
            .map(|n| {
                let (symbol, _) = phase_look(n.phase);
                format!(
                    "{} {symbol} {}",
                    n.node_name.as_deref().unwrap_or("?"),
                    n.phase.label()
                )
            })
            .collect();
        parts.push(format!("nodes: {}", nodes.join(", ")));
    }
    if !s.waiting_for.is_empty() {
        let names: Vec<_> = s.waiting_for.iter().map(|c| c.name()).collect();
        parts.push(format!("waiting for {} to be ready", names.join(", ")));
    }
    if let Some(at) = s.restart_at {
        let secs = at
            .duration_since(SystemTime::now())
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let lp = if s.crash_loop > 1 {
            format!(" · crash loop ({} crashes in a row)", s.crash_loop)
        } else {
            String::new()
        };
        parts.push(format!("restart in {secs:.0} s{lp}"));
    }
    if let Some(m) = &s.message {
        parts.push(m.clone());
    }
    // The search before the probe: it is what the user is looking at right now.
    if let Some((needle, hit)) = &pane.search {
        parts.push(match hit {
            Some(n) => format!("search {needle:?}: line {n}"),
            None => format!("search {needle:?}: not found"),
        });
    }
    match &s.probe {
        Some(Ok(d)) => parts.push(format!("probe ok: {d}")),
        Some(Err(e)) => parts.push(format!("probe failed: {e}")),
        None => {}
    }
    format!(" {}", parts.join(" · "))
}

fn log_lines<'a>(pane: &'a Pane, rows: u16, width: u16, theme: &Theme) -> Vec<Line<'a>> {
    if rows == 0 || pane.log.is_empty() {
        return vec![];
    }
    let bottom = pane.scroll.unwrap_or(pane.log.end_number() - 1);
    let top = (bottom + 1)
        .saturating_sub(u64::from(rows))
        .max(pane.log.first_number());
    let needle = pane.search.as_ref().map(|(n, _)| n.to_lowercase());
    let matched = pane.search.as_ref().and_then(|(_, hit)| *hit);
    let mut out = Vec::with_capacity(usize::from(rows));
    for n in top..=bottom {
        let Some(line) = pane.log.get(n) else {
            continue;
        };
        let role = match line.source {
            Source::Stdout => "log.stdout",
            Source::Stderr => "log.stderr",
            Source::Supervisor => "log.supervisor",
        };
        let prefix = if line.source == Source::Supervisor {
            " ▸ "
        } else {
            " "
        };
        let text: String = line.text.chars().take(usize::from(width)).collect();
        let style = if Some(n) == matched {
            theme.get("log.match")
        } else {
            theme.get(role)
        };
        let mut spans = vec![Span::styled(prefix, style)];
        match &needle {
            Some(nd) if Some(n) != matched && !nd.is_empty() => {
                spans.extend(highlight(&text, nd, style, theme.get("log.match")))
            }
            _ => spans.push(Span::styled(text, style)),
        }
        out.push(Line::from(spans));
    }
    out
}

/// Splits `text` so every case-insensitive occurrence of `needle` gets `hit`.
fn highlight(text: &str, needle: &str, normal: Style, hit: Style) -> Vec<Span<'static>> {
    let lower = text.to_lowercase();
    // Lowercasing can change byte lengths (e.g. 'İ'); then skip highlighting rather than misplace it.
    if lower.len() != text.len() {
        return vec![Span::styled(text.to_string(), normal)];
    }
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(needle) {
        let start = at + i;
        let end = start + needle.len();
        if start > at {
            spans.push(Span::styled(text[at..start].to_string(), normal));
        }
        spans.push(Span::styled(text[start..end].to_string(), hit));
        at = end;
    }
    if at < text.len() {
        spans.push(Span::styled(text[at..].to_string(), normal));
    }
    spans
}

/// Symbol and theme role per state. Symbols carry the meaning too, not colour alone.
fn phase_look(p: Phase) -> (&'static str, &'static str) {
    match p {
        Phase::Ready => ("●", "state.ready"),
        Phase::Starting | Phase::Running => ("◐", "state.pending"),
        Phase::Stopped => ("○", "state.stopped"),
        Phase::Stopping => ("◌", "state.stopping"),
        Phase::Unhealthy => ("▲", "state.failed"),
        Phase::BackingOff => ("↻", "state.failed"),
        Phase::Crashed => ("✖", "state.failed"),
    }
}

fn short_duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// Help over `area`, from row `scroll` when it is taller; returns the scroll it kept to.
fn draw_help(
    theme: &Theme,
    keymap: &Keymap,
    frame: &mut Frame,
    area: Rect,
    scroll: usize,
) -> usize {
    let rows: Vec<(String, &str)> = COMMANDS
        .iter()
        .filter_map(|(cmd, _, what)| keymap.keys_of(*cmd).map(|k| (k, *what)))
        .collect();
    let key_width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let what_width = rows
        .iter()
        .map(|(_, w)| w.chars().count())
        .max()
        .unwrap_or(0);
    let column = key_width + what_width + 5;
    // Two columns side by side when one is too tall for the screen and two fit its width.
    let inner_height = usize::from(area.height.saturating_sub(2)).max(1);
    let columns = if rows.len() > inner_height && (column * 2 + 2) <= usize::from(area.width) {
        2
    } else {
        1
    };
    let per_column = rows.len().div_ceil(columns);
    let cell = |i: usize| -> Vec<Span> {
        match rows.get(i) {
            Some((keys, what)) => vec![
                Span::styled(format!("  {keys:>key_width$}  "), theme.get("help.key")),
                Span::styled(format!("{what:what_width$} "), theme.get("help")),
            ],
            None => vec![],
        }
    };
    let lines: Vec<Line> = (0..per_column)
        .map(|r| {
            let mut spans = cell(r);
            if columns == 2 {
                spans.extend(cell(r + per_column));
            }
            Line::from(spans)
        })
        .collect();
    let total = lines.len();
    let scroll = scroll.min(total.saturating_sub(inner_height));
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    let title = if total > inner_height {
        format!(
            " keys {}–{} of {total} · j/k, pgup/pgdn scroll · any other key closes ",
            scroll + 1,
            (scroll + inner_height).min(total)
        )
    } else {
        " keys · any key closes this help ".to_string()
    };
    let width = ((column * columns) as u16 + 2).min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).style(theme.get("help")).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.get("help.title"))
                .title(Span::styled(title, theme.get("help.title"))),
        ),
        popup,
    );
    scroll
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::Component;
    use crate::supervisor::ComponentStatus;
    use crate::supervisor::logbuf::LogLine;
    use crate::tui::state::ClusterInfo;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn state() -> State {
        let statuses = Component::ALL
            .iter()
            .map(|c| ComponentStatus {
                component: *c,
                node: 0,
                node_name: None,
                backend: if *c == Component::Etcd {
                    "binary /usr/bin/etcd".into()
                } else {
                    "builtin".into()
                },
                phase: Phase::Stopped,
                pid: None,
                started_at: None,
                restarts: 0,
                crash_loop: 0,
                last_exit: None,
                restart_at: None,
                probe: None,
                message: None,
                waiting_for: vec![],
            })
            .collect();
        State::new(
            statuses,
            ClusterInfo {
                name: "kwb".into(),
                data_dir: "/tmp/d".into(),
                kubeconfig: "/tmp/d/kubeconfig/admin.kubeconfig".into(),
                apiserver_url: "https://127.0.0.1:6443".into(),
                attached: None,
                readonly: false,
            },
        )
    }

    #[test]
    fn attached_the_browser_fills_the_screen_and_the_header_names_the_context() {
        let info = ClusterInfo {
            name: "prod-eu".into(),
            attached: Some(crate::tui::state::Attached {
                context: "admin@prod-eu".into(),
                user: "admin".into(),
                server_version: "v1.33.1".into(),
            }),
            ..ClusterInfo::default()
        };
        let mut s = State::new(Vec::new(), info);
        let screen = render(&mut s, 100, 20);
        assert!(
            screen.contains(
                "context admin@prod-eu · cluster prod-eu · user admin · default · server v1.33.1"
            ),
            "{screen}"
        );
        assert!(screen.contains(": browse  / filter  y yaml"), "{screen}");
        assert!(!screen.contains("etcd"), "no component panes: {screen}");
        // A lost connection: a banner in the header, and the rest stays as it was.
        s.health = Some(crate::cluster::health::unreachable("connection refused"));
        let screen = render(&mut s, 140, 20);
        assert!(
            screen.contains(" ✖ the cluster does not answer: connection refused · retrying"),
            "{screen}"
        );
        assert!(screen.contains(": browse  / filter  y yaml"), "{screen}");
    }

    fn render(state: &mut State, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        let theme = Theme::dark();
        let km = Keymap::default_keymap();
        t.draw(|f| view(state, &theme, &km, f)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn pane_heights_fill_the_area_and_favour_focus() {
        for total in [6u16, 10, 22, 40, 100] {
            for focus in 0..6 {
                let h = pane_heights(total, 6, focus);
                assert_eq!(h.iter().sum::<u16>(), total.max(6), "total {total}");
                assert!(h[focus] >= *h.iter().max().unwrap());
            }
        }
        assert_eq!(pane_heights(22, 6, 0), vec![12, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn at_80x24_all_six_panes_show_with_state_and_facts() {
        let mut s = state();
        s.panes[0].status.phase = Phase::Ready;
        s.panes[0].status.pid = Some(4711);
        s.panes[0].status.probe = Some(Ok("GET /health 200 in 2 ms".into()));
        s.panes[0]
            .log
            .push(LogLine::new(Source::Stderr, "etcd serving client requests"));
        s.panes[1].status.phase = Phase::BackingOff;
        s.panes[1].status.last_exit = Some(crate::supervisor::lifecycle::ExitInfo::Code(2));
        let screen = render(&mut s, 80, 24);
        for c in Component::ALL {
            assert!(screen.contains(c.name()), "{} missing:\n{screen}", c.name());
        }
        assert!(screen.contains("● ready"), "{screen}");
        assert!(screen.contains("pid 4711"), "{screen}");
        assert!(screen.contains("binary /usr/bin/etcd"), "{screen}");
        assert!(screen.contains("probe ok: GET /health 200"), "{screen}");
        assert!(screen.contains("etcd serving client requests"), "{screen}");
        assert!(screen.contains("↻ backing off"), "{screen}");
        assert!(screen.contains("exit 2"), "{screen}");
        assert!(screen.contains("? help"), "{screen}");
    }

    #[test]
    fn a_narrow_header_leaves_out_the_least_needed_facts_first() {
        let facts = [
            ("context test".to_string(), 0),
            ("cluster c".to_string(), 3),
            ("user admin".to_string(), 2),
            ("default".to_string(), 0),
            ("server v1.33.0".to_string(), 1),
            ("kwb 0.1.0".to_string(), 4),
        ];
        assert_eq!(
            fit_facts(&facts, 200),
            "context test · cluster c · user admin · default · server v1.33.0 · kwb 0.1.0"
        );
        assert_eq!(
            fit_facts(&facts, 60),
            "context test · user admin · default · server v1.33.0"
        );
        assert_eq!(fit_facts(&facts, 10), "context test · default");
    }

    #[test]
    fn wide_screens_keep_room_for_browsers_and_show_the_kubeconfig() {
        let mut s = state();
        let screen = render(&mut s, 140, 40);
        assert!(
            screen.contains("export KUBECONFIG=/tmp/d/kubeconfig/admin.kubeconfig"),
            "{screen}"
        );
    }

    #[test]
    fn zoom_shows_one_pane_and_help_lists_every_binding() {
        let mut s = state();
        s.focus = 4;
        s.zoomed = true;
        let screen = render(&mut s, 80, 24);
        assert!(screen.contains("kubelet"));
        assert!(!screen.contains("scheduler"), "{screen}");
        s.help = true;
        let screen = render(&mut s, 160, 40);
        assert!(
            screen.contains("YAML") && screen.contains("stop every component and quit"),
            "two columns: {screen}"
        );
        let screen = render(&mut s, 100, 60);
        let km = Keymap::default_keymap();
        for (cmd, _, what) in COMMANDS {
            assert!(screen.contains(what), "help lacks {what:?}:\n{screen}");
            assert!(screen.contains(&km.keys_of(*cmd).unwrap()));
        }
    }

    #[test]
    fn search_matches_are_highlighted_and_the_scrolled_view_shows_the_match() {
        let mut s = state();
        for i in 0..100 {
            s.panes[0]
                .log
                .push(LogLine::new(Source::Stdout, format!("line {i}")));
        }
        s.panes[0].search = Some(("line 7".into(), Some(7)));
        s.panes[0].scroll = Some(7);
        let screen = render(&mut s, 80, 24);
        assert!(screen.contains("line 7"), "{screen}");
        assert!(!screen.contains("line 99"), "{screen}");
    }

    #[test]
    fn tiny_terminals_do_not_panic() {
        let mut s = state();
        for (w, h) in [(1, 1), (10, 3), (20, 8), (80, 7)] {
            render(&mut s, w, h);
            s.help = !s.help;
            render(&mut s, w, h);
        }
    }

    #[test]
    fn below_100_columns_the_focused_browser_takes_the_screen() {
        let mut s = state();
        s.browser.catalog(crate::cluster::resources::test_catalog());
        s.browser.command("po");
        s.browser_focus = true;
        let screen = render(&mut s, 80, 24);
        assert!(screen.contains(" pods (default)"), "{screen}");
        assert!(!screen.contains("etcd"), "{screen}");
        s.browser_focus = false;
        let screen = render(&mut s, 80, 24);
        assert!(screen.contains("etcd"), "the panes again: {screen}");
    }

    #[test]
    fn changes_are_asked_about_in_the_footer_and_logged_under_the_browser() {
        use crate::cluster::actions::{Change, Done};
        let mut s = state();
        s.browser.catalog(crate::cluster::resources::test_catalog());
        s.browser.command("no");
        s.browser_focus = true;
        s.info.readonly = true;
        let object = crate::cluster::object::ObjectRef {
            resource: crate::cluster::resources::test_catalog()
                .resolve("no")
                .unwrap()
                .clone(),
            namespace: String::new(),
            name: "kwb-worker".into(),
        };
        s.changes.asking = Some(crate::tui::changes::Ask::Confirm(Change::Delete(
            object.clone(),
            Default::default(),
        )));
        let screen = render(&mut s, 140, 30);
        assert!(
            screen.contains(" ? delete nodes kwb-worker? y sends it, any other key cancels"),
            "{screen}"
        );
        assert!(screen.contains("· read-only"), "{screen}");
        s.changes.asking = None;
        s.changes.record(
            Change::Cordon(object, true).summary(),
            Ok(Done {
                sent: "PATCH /api/v1/nodes/kwb-worker {\"spec\":{\"unschedulable\":true}}".into(),
                answer: "kwb-worker cordoned: SchedulingDisabled".into(),
            }),
        );
        let screen = render(&mut s, 140, 30);
        assert!(screen.contains(" changes sent · 1 in all "), "{screen}");
        assert!(
            screen.contains("✔ cordon nodes kwb-worker → kwb-worker cordoned: SchedulingDisabled"),
            "{screen}"
        );
        assert!(
            screen.contains("PATCH /api/v1/nodes/kwb-worker {\"spec\":{\"unschedulable\":true}}"),
            "{screen}"
        );
    }
}
