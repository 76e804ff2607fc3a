//! Tidy checks over the workspace's own sources, run as ordinary tests by `cargo test`.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                // Compile-fail cases and generated trees are not modules.
                if !name.starts_with('.') && !name.starts_with("target") && name != "ui" && name != "fixtures" {
                    rust_files(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }

    fn sources() -> Vec<PathBuf> {
        let mut out = Vec::new();
        for krate in ["cargo-migrate", "migrate-core", "migrate-macros", "xtask", "tests"] {
            rust_files(&workspace().join(krate), &mut out);
        }
        assert!(out.len() > 10, "found only {} sources", out.len());
        out
    }

    #[test]
    fn every_module_says_what_it_is_for() {
        let missing: Vec<String> = sources()
            .into_iter()
            .filter(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .map(|p| p.display().to_string())
            .collect();
        assert!(missing.is_empty(), "modules without a leading `//!` line:\n{}", missing.join("\n"));
    }

    #[test]
    fn no_debug_prints_left_behind() {
        let offenders: Vec<String> = sources()
            .into_iter()
            .filter(|p| std::fs::read_to_string(p).unwrap_or_default().contains(concat!("dbg", "!(")))
            .map(|p| p.display().to_string())
            .collect();
        assert!(offenders.is_empty(), "debug prints in:\n{}", offenders.join("\n"));
    }

    #[test]
    fn ci_script_runs_the_readme_test_command() {
        let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap_or_default();
        let ci = std::fs::read_to_string(workspace().join(".ci/run")).unwrap_or_default();
        assert!(readme.contains("cargo xtask ci"), "README.md must show the test command");
        assert!(ci.contains("cargo xtask ci"), ".ci/run must run the README's test command");
    }
}
