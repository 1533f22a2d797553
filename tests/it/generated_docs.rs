//! completions/ and man/ are generated from the clap definitions; this test
//! fails when they are stale. Regenerate with
//! `GREGOR_BLESS=1 cargo test --test it generated_docs`.

use std::path::Path;

#[test]
fn completions_and_man_pages_match_the_clap_definitions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("GREGOR_BLESS").is_some() {
        gregor::cli::docs::write(root).expect("write generated docs");
    }
    let stale: Vec<String> = gregor::cli::docs::render()
        .expect("render docs")
        .into_iter()
        .filter(|(path, contents)| std::fs::read(root.join(path)).ok().as_ref() != Some(contents))
        .map(|(path, _)| path)
        .collect();
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `GREGOR_BLESS=1 cargo test --test it generated_docs`"
    );
}

#[test]
fn the_man_pages_examples_parse() {
    for command in gregor::cli::docs::commands() {
        let tool = command.get_name().to_string();
        for (_, line) in gregor::cli::docs::examples(&tool) {
            let words: Vec<&str> = line
                .split_whitespace()
                .map(|w| w.trim_matches('\''))
                .collect();
            if let Err(e) = command.clone().try_get_matches_from(&words) {
                panic!("{line}: {e}");
            }
        }
    }
}
