//! Where a field lives in YAML text: the server names invalid fields in a 422's causes as
//! `spec.template.spec.containers[0].image`; the editor marks that line. Reads block-style
//! YAML by indentation (what kwb writes and people type); when a path goes deeper than the
//! text (flow style, a missing field), the deepest line found stands for it.

#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `spec.containers[0].image` → spec, containers, 0, image; `metadata.labels[app.k8s/x]` keeps
/// the bracketed key whole.
fn segments(field: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = field;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            let key = &inner[..end];
            out.push(match key.parse() {
                Ok(i) => Segment::Index(i),
                Err(_) => Segment::Key(key.trim_matches(['"', '\''])),
            });
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            if end > 0 {
                out.push(Segment::Key(&rest_trimmed[..end]));
            }
            rest = &rest_trimmed[end..];
        }
    }
    out
}

#[derive(Clone, Debug)]
struct Line<'a> {
    /// 0-based line number in the text.
    number: usize,
    indent: usize,
    text: &'a str,
}

/// The 0-based line of `field` in `text`, or of its deepest ancestor there; None when not even
/// its first key is in the text.
pub fn line_of(text: &str, field: &str) -> Option<usize> {
    let lines: Vec<Line> = text
        .lines()
        .enumerate()
        .filter_map(|(number, raw)| {
            let content = raw.trim_start();
            let skip = content.is_empty() || content.starts_with('#') || content == "---";
            (!skip).then(|| Line {
                number,
                indent: raw.len() - content.len(),
                text: content,
            })
        })
        .collect();
    locate(&lines, &segments(field))
}

fn key_of(text: &str) -> Option<&str> {
    let end = text
        .find(": ")
        .or_else(|| text.strip_suffix(':').map(str::len))?;
    Some(text[..end].trim().trim_matches(['"', '\'']))
}

fn locate(block: &[Line], segments: &[Segment]) -> Option<usize> {
    let (first, rest) = segments.split_first()?;
    let indent = block.first()?.indent;
    match first {
        Segment::Key(key) => {
            let at = block
                .iter()
                .position(|l| l.indent == indent && key_of(l.text) == Some(*key))?;
            let line = &block[at];
            if rest.is_empty() {
                return Some(line.number);
            }
            let inner = &block[at + 1..];
            // A sequence may sit at its key's own indent (`containers:` then `- name:`).
            let same_level_list = inner
                .first()
                .is_some_and(|l| l.indent == indent && l.text.starts_with('-'));
            let end = inner
                .iter()
                .position(|l| {
                    l.indent < indent
                        || (l.indent == indent && !(same_level_list && l.text.starts_with('-')))
                })
                .unwrap_or(inner.len());
            locate(&inner[..end], rest).or(Some(line.number))
        }
        Segment::Index(n) => {
            let starts: Vec<usize> = block
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == indent && (l.text == "-" || l.text.starts_with("- ")))
                .map(|(i, _)| i)
                .collect();
            let start = *starts.get(*n)?;
            let end = starts.get(n + 1).copied().unwrap_or(block.len());
            if rest.is_empty() {
                return Some(block[start].number);
            }
            // The item's first line without its dash, at the indent its keys have.
            let dash = &block[start];
            let after = dash.text[1..].trim_start();
            let mut item = Vec::with_capacity(end - start);
            if !after.is_empty() {
                item.push(Line {
                    number: dash.number,
                    indent: dash.indent + (dash.text.len() - after.len()),
                    text: after,
                });
            }
            item.extend(block[start + 1..end].iter().cloned());
            locate(&item, rest).or(Some(dash.number))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: a
        image: nginx
      - name: b
        image: busybox
        ports:
          - containerPort: 80
";

    #[test]
    fn fields_are_found_through_maps_and_lists() {
        let at = |f| line_of(DEPLOYMENT, f);
        assert_eq!(at("spec.replicas"), Some(7));
        assert_eq!(at("metadata.name"), Some(3));
        assert_eq!(at("spec.template.spec.containers[0].image"), Some(12));
        assert_eq!(at("spec.template.spec.containers[1].name"), Some(13));
        assert_eq!(at("spec.template.spec.containers[1]"), Some(13));
        assert_eq!(
            at("spec.template.spec.containers[1].ports[0].containerPort"),
            Some(16)
        );
        assert_eq!(at("metadata.labels[app.kubernetes.io/name]"), Some(5));
    }

    #[test]
    fn a_missing_field_points_at_its_deepest_ancestor() {
        assert_eq!(
            line_of(DEPLOYMENT, "spec.template.spec.containers[1].resources"),
            Some(13)
        );
        assert_eq!(line_of(DEPLOYMENT, "spec.selector"), Some(6));
        assert_eq!(line_of(DEPLOYMENT, "data"), None);
        assert_eq!(line_of("", "spec"), None);
        assert_eq!(line_of("a: [1, 2]\n", "a[1]"), Some(0));
    }
}
