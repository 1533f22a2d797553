use std::path::PathBuf;

use super::*;

/// A transform of examples/transforms/wat.
fn wat(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("examples/transforms/wat/{name}.wat"))
}

fn chain(names: &[&str], on_error: OnError) -> Transforms {
    let paths: Vec<PathBuf> = names.iter().map(|n| wat(n)).collect();
    Transforms::load(&paths, on_error, engine::DEFAULT_FUEL).unwrap()
}

fn record(value: &str) -> Record {
    Record {
        topic: "orders".into(),
        partition: 1,
        offset: 7,
        timestamp: Some(1_700_000_000_000),
        key: Some(b"k".to_vec()),
        value: Some(value.as_bytes().to_vec()),
        headers: vec![("h".into(), Some(b"1".to_vec()))],
    }
}

fn values(applied: Applied) -> Vec<(String, String)> {
    let Applied::Records(records) = applied else {
        panic!("expected records, got {applied:?}");
    };
    records
        .into_iter()
        .map(|r| (r.topic, String::from_utf8(r.value.unwrap()).unwrap()))
        .collect()
}

fn out(topic: &str, value: &str) -> (String, String) {
    (topic.to_string(), value.to_string())
}

#[test]
fn a_chain_maps_filters_and_routes_in_order() {
    let mut t = chain(&["filter", "upper", "route", "redact"], OnError::Fail);
    let place = "orders-1 at offset 7";
    assert_eq!(values(t.apply(record("#no"), &place).unwrap()), vec![]);
    assert_eq!(
        values(t.apply(record("+card 4111"), &place).unwrap()),
        vec![out("orders", "+CARD ****"), out("orders", "+CARD ****")]
    );
    assert_eq!(
        values(t.apply(record("!fire 12"), &place).unwrap()),
        vec![out("alerts", "!FIRE **")]
    );
    assert_eq!(t.tally.dropped, 1);
}

#[test]
fn everything_but_the_value_goes_through_a_map() {
    let mut t = chain(&["upper"], OnError::Fail);
    let Applied::Records(records) = t.apply(record("abc"), &"x").unwrap() else {
        panic!("a map emits a record");
    };
    assert_eq!(records, vec![record("ABC")]);
    let mut null = record("");
    null.value = None;
    null.key = None;
    assert_eq!(
        t.apply(null.clone(), &"x").unwrap(),
        Applied::Records(vec![null])
    );
}

#[test]
fn a_trap_fails_names_the_record_or_is_skipped_or_dead_lettered() {
    let mut fail = chain(&["upper", "trap"], OnError::Fail);
    let error = fail
        .apply(record("ok"), &"orders-1 at offset 7")
        .map(values)
        .unwrap();
    assert_eq!(error, vec![out("orders", "OK")]);
    let error = chain(&["trap"], OnError::Fail)
        .apply(record("x"), &"orders-1 at offset 7")
        .unwrap_err()
        .to_string();
    let name = wat("trap").display().to_string();
    assert_eq!(
        error,
        format!("transform {name} failed on orders-1 at offset 7: it trapped: wasm `unreachable` instruction executed")
    );

    let mut skip = chain(&["trap"], OnError::Skip);
    assert_eq!(values(skip.apply(record("x"), &"p").unwrap()), vec![]);
    // The instance that trapped was replaced: the next record goes through.
    assert_eq!(
        values(skip.apply(record("y"), &"p").unwrap()),
        vec![out("orders", "y")]
    );
    assert_eq!(skip.tally.skipped, 1);

    let mut dead = chain(&["redact", "trap"], OnError::DeadLetter("dlq".into()));
    let Applied::DeadLetter(letter) = dead.apply(record("x1"), &"orders-1 at offset 7").unwrap()
    else {
        panic!("a dead letter");
    };
    assert_eq!(letter.topic, "dlq");
    // The original record, not the redacted one the trap met.
    assert_eq!(letter.value.as_deref(), Some(&b"x1"[..]));
    let header = |k: &str| {
        letter
            .headers
            .iter()
            .find(|(name, _)| name == k)
            .and_then(|(_, v)| v.clone())
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(header("h").as_deref(), Some("1"));
    assert_eq!(
        header(SOURCE_HEADER).as_deref(),
        Some("orders-1 at offset 7")
    );
    assert_eq!(header(TRANSFORM_HEADER), Some(name));
    assert!(header(ERROR_HEADER).unwrap().contains("unreachable"));
    assert_eq!(dead.tally.dead_lettered, 1);
}

#[test]
fn a_runaway_loop_runs_out_of_fuel() {
    // Little fuel: a debug build interprets a few million instructions a second.
    let mut looping = Transforms::load(&[wat("loop")], OnError::Fail, 100_000).unwrap();
    let error = looping
        .apply(record("v"), &"line 3")
        .unwrap_err()
        .to_string();
    assert!(
        error.ends_with(
            "failed on line 3: it ran out of fuel (100000 per record; --transform-fuel): a runaway loop?"
        ),
        "{error}"
    );
}

#[test]
fn a_module_asking_for_more_than_the_abi_is_refused() {
    let error = Transforms::load(&[wat("wasi")], OnError::Fail, engine::DEFAULT_FUEL)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        format!(
            "transform {} cannot be loaded: it imports wasi_snapshot_preview1.fd_write, which is not offered (a transform may import only gregor.emit)",
            wat("wasi").display()
        )
    );
    let missing = Transforms::load(&[wat("none")], OnError::Fail, engine::DEFAULT_FUEL)
        .err()
        .unwrap()
        .to_string();
    assert!(missing.starts_with("cannot read transform "), "{missing}");
}

#[test]
fn on_error_takes_one_or_two_words() {
    let parse = |w: &[&str]| OnError::parse(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(parse(&[]).unwrap(), OnError::Fail);
    assert_eq!(parse(&["skip"]).unwrap(), OnError::Skip);
    assert_eq!(
        parse(&["dead-letter", "dlq"]).unwrap(),
        OnError::DeadLetter("dlq".into())
    );
    assert!(parse(&["dead-letter"])
        .unwrap_err()
        .to_string()
        .contains("needs the topic"));
    assert!(parse(&["skip", "x"]).is_err());
}
