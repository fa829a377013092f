//! Field paths printed the way upstream prints them.

/// A field path printed the upstream way: `spec.containers[0].ports[1]`,
/// map keys in brackets without quotes (`metadata.annotations[a/b]`).
#[derive(Clone, Debug)]
pub(super) struct Path(String);

impl Path {
    pub(super) fn root() -> Path {
        Path(String::new())
    }

    pub(super) fn new(name: &str) -> Path {
        Path(name.to_string())
    }

    pub(super) fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{}", self.0, name))
        }
    }

    pub(super) fn index(&self, i: usize) -> Path {
        Path(format!("{}[{}]", self.0, i))
    }

    pub(super) fn key(&self, k: &str) -> Path {
        Path(format!("{}[{}]", self.0, k))
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}
