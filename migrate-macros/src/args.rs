//! The macro's input: an optional path literal and an optional `branches = [...]` list.

use migrate_core::is_valid_label;
use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token, bracketed};

/// What `migrate!(...)` was given.
#[derive(Default)]
pub(crate) struct Args {
    /// The migrations directory as written, if any.
    pub(crate) path: Option<LitStr>,
    /// The branch labels declared as intentional heads (empty: a single head).
    pub(crate) branches: Vec<String>,
    /// Where each of `branches` is written.
    pub(crate) branch_spans: Vec<Span>,
}

const ACCEPTED: &str = "`migrate!` accepts a directory as a string literal and `branches = [\"label\", ...]`, e.g. \
     `migrate!(\"migrations\", branches = [\"expand\", \"contract\"])`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut branches_seen = false;
        let mut errors: Option<syn::Error> = None;
        let mut report = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        while !input.is_empty() {
            if input.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                if args.path.is_some() {
                    report(syn::Error::new(
                        lit.span(),
                        "the migrations directory is given twice; `migrate!` embeds one directory",
                    ));
                } else {
                    args.path = Some(lit);
                }
            } else if input.peek(Ident) && input.peek2(Token![=]) {
                let key: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                if key != "branches" {
                    return Err(syn::Error::new(key.span(), format!("unknown argument `{key}`; {ACCEPTED}")));
                }
                if branches_seen {
                    report(syn::Error::new(
                        key.span(),
                        "`branches` is given twice; list every label in one `branches`",
                    ));
                }
                branches_seen = true;
                for label in parse_labels(input)? {
                    match check_label(&label, &args.branches) {
                        Ok(()) => {
                            args.branches.push(label.value());
                            args.branch_spans.push(label.span());
                        }
                        Err(e) => report(e),
                    }
                }
            } else {
                return Err(input.error(format!("expected a directory path or `branches = [...]`; {ACCEPTED}")));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(args),
        }
    }
}

/// `["a", "b"]` after `branches =`.
fn parse_labels(input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    let lookahead = input.lookahead1();
    if !lookahead.peek(syn::token::Bracket) {
        return Err(input.error(
            "expected the branch labels as a list of string literals: `branches = [\"expand\", \"contract\"]`",
        ));
    }
    let content;
    let brackets = bracketed!(content in input);
    let labels = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    if labels.is_empty() {
        return Err(syn::Error::new(
            brackets.span.join(),
            "no branch labels listed; name the labels kept as heads, or remove `branches` for a single head",
        ));
    }
    Ok(labels.into_iter().collect())
}

/// A declared label must be well-formed and declared once.
fn check_label(label: &LitStr, declared: &[String]) -> syn::Result<()> {
    let value = label.value();
    if !is_valid_label(&value) {
        return Err(syn::Error::new(
            label.span(),
            format!("`{value}` is not a valid branch label; labels use letters, digits, `_`, `-` and `.`"),
        ));
    }
    if declared.contains(&value) {
        return Err(syn::Error::new(label.span(), format!("branch label `{value}` is listed twice")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        syn::parse2(tokens)
    }

    fn error(tokens: proc_macro2::TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"),
        }
    }

    #[test]
    fn empty_input_means_the_default_directory_and_a_single_head() {
        let args = parse(quote!()).unwrap();
        assert!(args.path.is_none());
        assert!(args.branches.is_empty());
    }

    #[test]
    fn a_path_and_branches_in_any_order_with_a_trailing_comma() {
        for tokens in [
            quote!("db/migrations", branches = ["expand", "contract"]),
            quote!(branches = ["expand", "contract",], "db/migrations",),
        ] {
            let args = parse(tokens).unwrap();
            assert_eq!(args.path.unwrap().value(), "db/migrations");
            assert_eq!(args.branches, ["expand", "contract"]);
        }
        let only_branches = parse(quote!(branches = ["a.b-c_d"])).unwrap();
        assert!(only_branches.path.is_none());
        assert_eq!(only_branches.branches, ["a.b-c_d"]);
    }

    #[test]
    fn not_a_string_literal() {
        for tokens in [quote!(migrations), quote!(42), quote!(some::path)] {
            let message = error(tokens);
            assert!(message.contains("expected a directory path"), "{message}");
            assert!(message.contains("string literal"), "{message}");
        }
    }

    #[test]
    fn unknown_keys_name_what_is_accepted() {
        let message = error(quote!(dir = "migrations"));
        assert!(message.starts_with("unknown argument `dir`"), "{message}");
        assert!(message.contains("branches = ["), "{message}");
    }

    #[test]
    fn branches_must_be_a_non_empty_list_of_valid_unique_labels() {
        assert!(error(quote!(branches = "expand")).contains("list of string literals"));
        assert!(error(quote!(branches = [])).contains("no branch labels listed"));
        assert!(error(quote!(branches = [expand])).contains("expected string literal"));
        let both = error(quote!(branches = ["a b", "x", "x"]));
        assert!(both.contains("`a b` is not a valid branch label"), "{both}");
        assert!(both.contains("branch label `x` is listed twice"), "{both}");
        assert!(error(quote!(branches = ["a"], branches = ["b"])).contains("`branches` is given twice"));
    }

    #[test]
    fn one_directory_only() {
        assert!(error(quote!("a", "b")).contains("given twice"));
        assert!(error(quote!("a" "b")).contains("expected `,`"));
    }
}
