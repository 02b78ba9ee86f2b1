//! Detector declarations for every crate of detek (as ruff's `#[violation]` rules are declared).
//!
//! ```ignore
//! /// ## What it detects
//! /// Containers that restarted at least `threshold` times.
//! ///
//! /// ## Why it matters
//! /// ...
//! ///
//! /// ## How to fix
//! /// ...
//! ///
//! /// ## Example
//! /// ...
//! #[detector(
//!     id = "pod_restarting",
//!     title = "Containers restarting repeatedly",
//!     labels = ["kubernetes", "workloads", "pod"],
//!     level = Warn,
//!     requires = [PODS],
//!     uses = [EVENTS],
//!     references = ["https://kubernetes.io/docs/..."],
//!     settings = PodRestartingSettings,
//! )]
//! pub struct PodRestarting;
//!
//! /// Settings of `pod_restarting`.
//! #[derive(DetectorSettings, Serialize, Deserialize)]
//! pub struct PodRestartingSettings {
//!     /// Restarts at which a container is reported.
//!     #[setting(default = 5)]
//!     pub threshold: i64,
//! }
//!
//! fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
//!     let settings: PodRestartingSettings = ctx.settings_of()?;
//!     ...
//! }
//! ```
//!
//! `requires` are the keys a detector cannot run without (missing: skipped; failed: `Unknown`);
//! `uses` are keys it reads when the target has them (`DetectContext::optional`): collected
//! where some collector produces them, never a reason to skip it or make it `Unknown`.
//!
//! A field marked `#[setting(internal)]` is read like the others but not declared: the program
//! sets it (the CLI parses files a declared setting names into it), the config file cannot, and
//! `detek explain` does not list it.
//!
//! `#[detector]` implements `detek_core::Detector` for the unit struct: the metadata is built
//! once, its documentation is the struct's `///` comment (the four sections `What it detects`,
//! `Why it matters`, `How to fix`, `Example`), and `detect` calls the function named `detect`
//! in the same module (or the one given with `detect = path`). Generated code names
//! `::detek_core`, so any crate depending on detek-core can declare detectors.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{ToTokens, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Expr, ExprArray, ExprLit, Fields, Lit, Meta, Token};

/// Declares a detector on a unit struct; see the crate docs.
#[proc_macro_attribute]
pub fn detector(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand_detector(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Declares a detector's settings from a struct's fields; see the crate docs.
#[proc_macro_derive(DetectorSettings, attributes(setting))]
pub fn derive_detector_settings(item: TokenStream) -> TokenStream {
    match expand_settings(syn::parse_macro_input!(item as DeriveInput)) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

#[derive(Default)]
struct DetectorArgs {
    id: Option<syn::LitStr>,
    title: Option<syn::LitStr>,
    labels: Vec<Expr>,
    level: Option<syn::Ident>,
    requires: Vec<Expr>,
    uses: Vec<Expr>,
    references: Vec<Expr>,
    settings: Option<syn::Path>,
    detect: Option<syn::Path>,
}

fn array_items(expr: &Expr) -> syn::Result<Vec<Expr>> {
    match expr {
        Expr::Array(ExprArray { elems, .. }) => Ok(elems.iter().cloned().collect()),
        other => Err(syn::Error::new(other.span(), "expected a list: [a, b]")),
    }
}

fn string_lit(expr: &Expr) -> syn::Result<syn::LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new(other.span(), "expected a string literal")),
    }
}

fn path_of(expr: &Expr) -> syn::Result<syn::Path> {
    match expr {
        Expr::Path(p) => Ok(p.path.clone()),
        other => Err(syn::Error::new(other.span(), "expected a path")),
    }
}

fn parse_args(args: TokenStream2) -> syn::Result<DetectorArgs> {
    let pairs = Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    let mut out = DetectorArgs::default();
    for pair in pairs {
        let name = pair
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let value = &pair.value;
        match name.as_str() {
            "id" => out.id = Some(string_lit(value)?),
            "title" => out.title = Some(string_lit(value)?),
            "labels" => out.labels = array_items(value)?,
            "level" => {
                let path = path_of(value)?;
                out.level = Some(
                    path.get_ident()
                        .cloned()
                        .ok_or_else(|| syn::Error::new(path.span(), "expected a level name"))?,
                );
            }
            "requires" => out.requires = array_items(value)?,
            "uses" => out.uses = array_items(value)?,
            "references" => out.references = array_items(value)?,
            "settings" => out.settings = Some(path_of(value)?),
            "detect" => out.detect = Some(path_of(value)?),
            _ => {
                return Err(syn::Error::new(
                    pair.path.span(),
                    "unknown detector attribute: expected id, title, labels, level, requires, \
                     uses, references, settings or detect",
                ));
            }
        }
    }
    Ok(out)
}

/// The `///` lines of an item, joined as Markdown (one leading space of each line removed).
fn doc_text(attrs: &[Attribute]) -> String {
    let mut text = String::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
        {
            let line = s.value();
            text.push_str(line.strip_prefix(' ').unwrap_or(&line));
            text.push('\n');
        }
    }
    text
}

fn expand_detector(args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let item: syn::ItemStruct = syn::parse2(item)?;
    let args = parse_args(args)?;
    let name = &item.ident;
    let id = args
        .id
        .ok_or_else(|| syn::Error::new(name.span(), "#[detector] needs `id = \"...\"`"))?;
    let title = args
        .title
        .ok_or_else(|| syn::Error::new(name.span(), "#[detector] needs `title = \"...\"`"))?;
    let level = args.level.ok_or_else(|| {
        syn::Error::new(
            name.span(),
            "#[detector] needs `level = Warn` (or Error, Fatal)",
        )
    })?;
    let docs = doc_text(&item.attrs);
    if docs.trim().is_empty() {
        return Err(syn::Error::new(
            name.span(),
            "a detector is documented by its `///` comment: What it detects, Why it matters, \
             How to fix, Example",
        ));
    }
    let labels = &args.labels;
    let requires = &args.requires;
    let uses = &args.uses;
    let references = &args.references;
    let settings = match &args.settings {
        Some(path) => quote!(<#path as ::detek_core::DetectorSettings>::specs()),
        None => quote!(::std::vec::Vec::new()),
    };
    let detect = args
        .detect
        .map(|p| p.into_token_stream())
        .unwrap_or_else(|| quote!(detect));
    Ok(quote! {
        #item

        impl ::detek_core::Detector for #name {
            fn meta(&self) -> &::detek_core::DetectorMeta {
                static META: ::std::sync::LazyLock<::detek_core::DetectorMeta> =
                    ::std::sync::LazyLock::new(|| ::detek_core::DetectorMeta {
                        id: ::std::borrow::Cow::Borrowed(#id),
                        title: ::std::borrow::Cow::Borrowed(#title),
                        labels: ::std::vec![#(::std::borrow::Cow::Borrowed(#labels)),*],
                        level: ::detek_core::Level::#level,
                        requires: ::std::vec![#((#requires).id()),*],
                        uses: ::std::vec![#((#uses).id()),*],
                        references: ::std::vec![#(::std::borrow::Cow::Borrowed(#references)),*],
                        docs: ::detek_core::Docs::parse(#docs),
                        settings: #settings,
                        source: ::std::option::Option::None,
                    });
                &META
            }

            fn detect(
                &self,
                ctx: &::detek_core::DetectContext,
            ) -> ::std::result::Result<::detek_core::Outcome, ::detek_core::DetectError> {
                #detect(ctx)
            }
        }
    })
}

fn expand_settings(input: DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            "DetectorSettings: expected a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(
            name.span(),
            "DetectorSettings: expected a struct with named fields",
        ));
    };
    let mut defaults = Vec::new();
    let mut specs = Vec::new();
    for field in &fields.named {
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        let key = ident.to_string();
        let doc = doc_text(&field.attrs);
        let doc = doc.trim();
        if doc.is_empty() {
            return Err(syn::Error::new(
                ident.span(),
                "every setting has a one-line `///` doc (shown by `detek explain`)",
            ));
        }
        let mut default: Option<Expr> = None;
        let mut internal = false;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("setting")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("default") {
                    default = Some(meta.value()?.parse()?);
                    Ok(())
                } else if meta.path.is_ident("internal") {
                    internal = true;
                    Ok(())
                } else {
                    Err(meta.error("expected `default = ...` or `internal`"))
                }
            })?;
        }
        let value = match default {
            // `.into()` lets `default = "x"` fill a String and `default = ["a"]` a Vec<String>.
            Some(expr) => quote!(::detek_core::__private::setting_default::<#ty, _>(#expr)),
            None => quote!(::std::default::Default::default()),
        };
        defaults.push(quote!(#ident: #value));
        if internal {
            // Set by the program itself (the CLI), never by the config file: read like the
            // other fields, but not declared, so the config file cannot set it.
            continue;
        }
        specs.push(quote! {
            ::detek_core::SettingSpec::new(
                #key,
                <#ty as ::detek_core::SettingValue>::TYPE,
                ::detek_core::__private::serde_json::to_value(&defaults.#ident)
                    .unwrap_or(::detek_core::__private::serde_json::Value::Null),
                #doc,
            )
        });
    }
    Ok(quote! {
        impl ::std::default::Default for #name {
            fn default() -> Self {
                #name { #(#defaults),* }
            }
        }

        impl ::detek_core::DetectorSettings for #name {
            fn specs() -> ::std::vec::Vec<::detek_core::SettingSpec> {
                #[allow(unused_variables)]
                let defaults = <#name as ::std::default::Default>::default();
                ::std::vec![#(#specs),*]
            }
        }
    })
}
