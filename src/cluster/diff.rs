//! Line diffs for the review screens: what an apply would change (live against the server's
//! dry run), what changed behind the editor's back (a 409), a revision against the current
//! template. A longest common subsequence on lines: objects are hundreds of lines, so the
//! quadratic table is small; past [`LIMIT`] cells the middle is shown as replaced whole.

/// Cells of the LCS table above which the changed middle is shown as removed-then-added.
const LIMIT: usize = 4_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
    /// This many unchanged lines left out between hunks.
    Skipped(usize),
}

/// The diff of `old` into `new`, unchanged lines beyond `context` around a change folded.
pub fn lines(old: &str, new: &str, context: usize) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    fold(full(&a, &b), context)
}

/// Lines added and removed.
pub fn counts(diff: &[DiffLine]) -> (usize, usize) {
    diff.iter().fold((0, 0), |(add, del), l| match l {
        DiffLine::Added(_) => (add + 1, del),
        DiffLine::Removed(_) => (add, del + 1),
        _ => (add, del),
    })
}

/// As `diff -u` marks lines: `+`, `-`, two spaces; folds as `@@ N unchanged lines @@`.
pub fn text(diff: &[DiffLine]) -> String {
    let mut out = String::new();
    for line in diff {
        match line {
            DiffLine::Same(l) => out.push_str(&format!("  {l}\n")),
            DiffLine::Removed(l) => out.push_str(&format!("- {l}\n")),
            DiffLine::Added(l) => out.push_str(&format!("+ {l}\n")),
            DiffLine::Skipped(n) => out.push_str(&format!("@@ {n} unchanged lines @@\n")),
        }
    }
    out
}

fn full(a: &[&str], b: &[&str]) -> Vec<DiffLine> {
    // Common ends first: most edits touch a few lines in the middle.
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<DiffLine> = a[..prefix]
        .iter()
        .map(|l| DiffLine::Same(l.to_string()))
        .collect();
    out.extend(middle(ma, mb));
    out.extend(
        a[a.len() - suffix..]
            .iter()
            .map(|l| DiffLine::Same(l.to_string())),
    );
    out
}

fn middle(a: &[&str], b: &[&str]) -> Vec<DiffLine> {
    let removed = |l: &&str| DiffLine::Removed(l.to_string());
    let added = |l: &&str| DiffLine::Added(l.to_string());
    if (a.len() + 1) * (b.len() + 1) > LIMIT {
        return a.iter().map(removed).chain(b.iter().map(added)).collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let w = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * w];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(DiffLine::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j]) {
            out.push(added(&b[j]));
            j += 1;
        } else {
            out.push(removed(&a[i]));
            i += 1;
        }
    }
    // Removals before additions within a change, as diff -u shows them.
    let mut sorted = Vec::with_capacity(out.len());
    let mut adds = Vec::new();
    for line in out {
        match line {
            DiffLine::Added(_) => adds.push(line),
            DiffLine::Removed(_) => sorted.push(line),
            other => {
                sorted.append(&mut adds);
                sorted.push(other);
            }
        }
    }
    sorted.append(&mut adds);
    sorted
}

fn fold(diff: Vec<DiffLine>, context: usize) -> Vec<DiffLine> {
    let changed: Vec<usize> = diff
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l, DiffLine::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let near = |i: usize| {
        let at = changed.partition_point(|&c| c < i);
        let after = changed.get(at).is_some_and(|&c| c - i <= context);
        let before = at > 0 && i - changed[at - 1] <= context;
        after || before
    };
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, line) in diff.into_iter().enumerate() {
        if matches!(line, DiffLine::Same(_)) && !near(i) {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            out.push(DiffLine::Skipped(skipped));
            skipped = 0;
        }
        out.push(line);
    }
    if skipped > 0 {
        out.push(DiffLine::Skipped(skipped));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_shows_with_its_context_and_the_rest_folded() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let d = lines(old, new, 1);
        assert_eq!(
            text(&d),
            "@@ 3 unchanged lines @@\n  d\n- e\n+ E\n  f\n@@ 2 unchanged lines @@\n"
        );
        assert_eq!(counts(&d), (1, 1));
    }

    #[test]
    fn insertions_deletions_and_empty_sides() {
        assert_eq!(
            text(&lines("", "x\ny\n", 3)),
            "+ x\n+ y\n",
            "a new object is all added"
        );
        assert_eq!(text(&lines("x\n", "", 3)), "- x\n");
        assert_eq!(
            text(&lines("a\nb\n", "a\nb\n", 3)),
            "@@ 2 unchanged lines @@\n"
        );
        let d = lines("a\nb\nc\n", "a\nx\nb\nc\ny\n", 5);
        assert_eq!(text(&d), "  a\n+ x\n  b\n  c\n+ y\n");
    }

    #[test]
    fn the_longest_common_part_is_kept() {
        let d = lines("k: 1\nx: 2\nk: 3\n", "x: 2\nk: 3\nk: 4\n", 9);
        assert_eq!(counts(&d), (1, 1));
    }
}
