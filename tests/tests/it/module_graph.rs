//! The crates' module graphs stay acyclic, so a newcomer can read any module knowing only the
//! ones below it. A module depends on another when it names it by path (`crate::a::b`,
//! `super::x`, or a child `c::item`); `mod` declarations and test modules do not count.
//!
//! - In every crate, no cycle between top-level modules (a module's own submodules count as it).
//! - In `cli/`, no cycle between any two files: commands depend only on modules below them.
//!
//! Written here rather than with a tool: no maintained crate answers "which files of this crate
//! name which" without compiling it, and the rule is a path scan plus Tarjan's algorithm.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every `.rs` file under `src`, by module path (`main.rs`, `lib.rs` and `mod.rs` name their
/// directory's module).
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().with_extension("");
                let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "main" | "lib")) {
                    parts.pop();
                }
                found.insert(parts, path);
            }
        }
    }
    found
}

/// The file's code without comments, test modules, or `super::` inside inline modules (there it
/// names the file itself).
fn code(text: &str) -> String {
    let text = text.split("\n#[cfg(test)]").next().unwrap_or_default();
    let (mut out, mut depth, mut inline_at) = (String::new(), 0i32, None);
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let trimmed = line.trim_start();
        // `pub mod x {`, `pub(crate) mod x {`, `pub(super) mod x {`: the visibility says nothing here.
        let trimmed = match trimmed.strip_prefix("pub") {
            Some(rest) if rest.starts_with('(') => rest.split_once(") ").map_or(rest, |(_, after)| after),
            Some(rest) => rest.trim_start(),
            None => trimmed,
        };
        if inline_at.is_none() && trimmed.starts_with("mod ") && trimmed.trim_end().ends_with('{') {
            inline_at = Some(depth);
        }
        let line = if inline_at.is_some() { line.replace("super::", "selfmod::") } else { line.to_owned() };
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if inline_at.is_some_and(|at| depth <= at) {
            inline_at = None;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Every path in `code` (`a::b::c`, and the members of `a::{b, c::d}`), as segment lists.
fn paths(code: &str) -> Vec<Vec<String>> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_ident(chars[i]) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let mut segments = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            segments.push(chars[start..j].iter().collect::<String>());
            if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                j += 2;
                if chars.get(j) == Some(&'{') {
                    let close = chars[j..].iter().position(|c| *c == '}').map_or(chars.len(), |p| j + p);
                    let inner: String = chars[j + 1..close].iter().collect();
                    for member in inner.split(',') {
                        let member = member.split(" as ").next().unwrap_or_default().trim();
                        if !member.is_empty() && member != "self" {
                            let mut path = segments.clone();
                            path.extend(member.split("::").map(str::to_owned));
                            found.push(path);
                        }
                    }
                    j = close;
                    break;
                }
                continue;
            }
            break;
        }
        if segments.len() > 1 {
            found.push(segments);
        }
        i = j.max(i + 1);
    }
    found
}

/// Which modules each module names.
fn edges(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules(src);
    let resolve =
        |path: &[String]| (0..=path.len()).rev().map(|k| path[..k].to_vec()).find(|p| modules.contains_key(p));
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, file) in &modules {
        for path in paths(&code(&std::fs::read_to_string(file).unwrap())) {
            let absolute: Option<Module> = match path[0].as_str() {
                "crate" => Some(path[1..].to_vec()),
                "super" => {
                    let ups = path.iter().take_while(|s| *s == "super").count();
                    let base = &module[..module.len().saturating_sub(ups)];
                    Some(base.iter().chain(&path[ups..]).cloned().collect())
                }
                child if modules.contains_key(&[module.as_slice(), &[child.to_owned()]].concat()) => {
                    Some(module.iter().chain(&path).cloned().collect())
                }
                _ => None,
            };
            if let Some(target) = absolute.and_then(|p| resolve(&p))
                && &target != module
            {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        found: Vec<Vec<Module>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: &Module) {
            let n = self.index.len();
            self.index.insert(v.clone(), n);
            self.low.insert(v.clone(), n);
            self.stack.push(v.clone());
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), low);
                } else if self.stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().position(|m| m == v).unwrap();
                let component = self.stack.split_off(at);
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan =
        Tarjan { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    let nodes: BTreeSet<Module> = edges.iter().flat_map(|(v, ws)| std::iter::once(v).chain(ws)).cloned().collect();
    for v in &nodes {
        if !tarjan.index.contains_key(v) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

/// The graph with each module folded into its top-level module.
fn top_level(edges: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeMap<Module, BTreeSet<Module>> {
    let top = |m: &Module| m.iter().take(1).cloned().collect::<Module>();
    let mut folded: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (v, ws) in edges {
        for w in ws {
            if top(v) != top(w) {
                folded.entry(top(v)).or_default().insert(top(w));
            }
        }
    }
    folded
}

fn named(cycles: &[Vec<Module>]) -> Vec<String> {
    cycles
        .iter()
        .map(|c| c.iter().map(|m| format!("crate::{}", m.join("::"))).collect::<Vec<_>>().join(" ⇄ "))
        .collect()
}

#[test]
fn no_crate_has_a_cycle_between_its_top_level_modules() {
    for krate in ["protocol", "indexer", "vault", "cli", "tests"] {
        let found = cycles(&top_level(&edges(&workspace().join(krate).join("src"))));
        assert!(found.is_empty(), "{krate}/src: {:#?}", named(&found));
    }
}

#[test]
fn no_file_of_the_cli_is_in_a_cycle() {
    let found = cycles(&edges(&workspace().join("cli/src")));
    assert!(found.is_empty(), "cli/src: {:#?}", named(&found));
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.rs"), "mod a;\nmod b;\nfn main() { a::run(); }\n").unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::b::helper;\npub fn run() { helper(); }\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "pub fn helper() { super::a::run(); }\n").unwrap();
    let found = named(&cycles(&edges(dir.path())));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("crate::a") && found[0].contains("crate::b"), "{found:?}");
    // Inside an inline module (whatever its visibility), `super::` is the file itself.
    std::fs::write(dir.path().join("b.rs"), "pub fn helper() {}\npub(super) mod inner {\n    use super::helper;\n}\n")
        .unwrap();
    std::fs::write(dir.path().join("a.rs"), "pub fn run() { crate::b::helper(); }\n").unwrap();
    assert!(cycles(&edges(dir.path())).is_empty());
    // A test module's paths and comments are not dependencies.
    std::fs::write(
        dir.path().join("b.rs"),
        "// super::a::run()\npub fn helper() {}\n#[cfg(test)]\nmod t { use crate::a; }\n",
    )
    .unwrap();
    assert!(cycles(&edges(dir.path())).is_empty());
}
