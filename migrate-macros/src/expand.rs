//! From the macro's input tokens to its output: parse the input, resolve the directory, and let
//! `migrate_core::codegen` load, validate and embed it.

use std::path::{Path, PathBuf};

use migrate_core::codegen::{self, Spans};
use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::args::Args;

/// Expands `migrate!(input)`.
///
/// `manifest_dir` is the calling package's `CARGO_MANIFEST_DIR`; `source_file` names the file a
/// span is in (used for paths starting with `./` or `../`). Bad input becomes a `compile_error!`
/// at the offending token, followed by the typed fallback so no follow-on errors appear.
pub(crate) fn expand(
    input: TokenStream,
    manifest_dir: Option<&Path>,
    source_file: impl FnOnce(Span) -> Option<PathBuf>,
) -> TokenStream {
    let args: Args = match syn::parse2(input) {
        Ok(args) => args,
        Err(e) => return fallback(&e),
    };
    let path_span = args.path.as_ref().map_or_else(Span::call_site, |lit| lit.span());
    let written = args.path.as_ref().map(|lit| lit.value());
    let file = args.path.as_ref().and_then(|lit| source_file(lit.span()));
    match codegen::resolve_dir(written.as_deref(), manifest_dir, file.as_deref()) {
        Ok(dir) => {
            let spans = Spans { call_site: Span::call_site(), path: path_span, branches: args.branch_spans };
            codegen::expand(&dir, &args.branches, &spans)
        }
        Err(message) => fallback(&syn::Error::new(path_span, message)),
    }
}

/// The errors, then `Migrations::EMPTY`.
fn fallback(error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote!({ #errors ::migrate_core::Migrations::EMPTY })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, parent: &str) {
        let text = format!(
            "-- revision: {name}\n-- down_revision: {parent}\n-- migrate:up\nCREATE TABLE {name} (x int);\n\
             -- migrate:down\nDROP TABLE {name};\n"
        );
        std::fs::write(dir.join(format!("{name}.sql")), text).unwrap();
    }

    fn no_file(_: Span) -> Option<PathBuf> {
        None
    }

    #[test]
    fn the_default_directory_is_beside_the_manifest() {
        let package = tempfile::tempdir().unwrap();
        std::fs::create_dir(package.path().join("migrations")).unwrap();
        write(&package.path().join("migrations"), "aaaa", "");
        let out = expand(quote!(), Some(package.path()), no_file).to_string();
        assert!(out.contains("path : \"migrations/aaaa.sql\""), "{out}");
        assert!(out.contains("include_str"), "{out}");
    }

    #[test]
    fn a_path_relative_to_the_package_with_branches() {
        let package = tempfile::tempdir().unwrap();
        let dir = package.path().join("db");
        std::fs::create_dir(&dir).unwrap();
        write(&dir, "aaaa", "");
        let out = expand(quote!("db", branches = ["main"]), Some(package.path()), no_file).to_string();
        // `main` is not the label of any revision: the declared policy reached the validator.
        assert!(out.contains("\"declared branch `main` is not the label of any revision"), "{out}");
        assert!(out.contains("db/aaaa.sql:1:1: head `aaaa` is on none of the declared branches (main)"), "{out}");
        assert!(out.contains("Migrations :: EMPTY"), "{out}");
    }

    #[test]
    fn a_dot_path_is_relative_to_the_calling_file() {
        let root = tempfile::tempdir().unwrap();
        let fixtures = root.path().join("fixtures/one");
        std::fs::create_dir_all(&fixtures).unwrap();
        write(&fixtures, "aaaa", "");
        let source = root.path().join("ui/pass/case.rs");
        let out = expand(quote!("../../fixtures/one"), Some(Path::new("/elsewhere")), |_| Some(source)).to_string();
        assert!(out.contains("path : \"../../fixtures/one/aaaa.sql\""), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn bad_input_is_one_error_and_the_fallback() {
        let out = expand(quote!(dir = "x"), Some(Path::new("/p")), no_file).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("unknown argument `dir`"), "{out}");
        assert!(out.ends_with(":: migrate_core :: Migrations :: EMPTY }"), "{out}");
    }

    #[test]
    fn an_unresolvable_path_is_reported_at_the_path() {
        let out = expand(quote!("./here"), Some(Path::new("/p")), no_file).to_string();
        assert!(out.contains("relative to the file that calls `migrate!`"), "{out}");
    }

    #[test]
    fn a_missing_directory_names_it() {
        let package = tempfile::tempdir().unwrap();
        let out = expand(quote!("nowhere"), Some(package.path()), no_file).to_string();
        assert!(out.contains("nowhere:1:1: migrations directory not found"), "{out}");
        assert!(out.contains("cargo migrate init"), "{out}");
    }
}
