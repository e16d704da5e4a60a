//! The disjoint cases, presence, and the case bound.

use super::*;

fn header(name: &str) -> Cond {
    Cond::Atom(json!({"header": {"name": name, "present": true}}))
}

#[test]
fn terms_are_disjoint_and_drop_contradictions() {
    let (a, b) = (header("x-a"), header("x-b"));
    // not (a and b) = not a | (a and not b): two cases, at most one holds.
    let cases = terms(&Cond::not(Cond::and(a.clone(), b.clone()))).unwrap_or_default();
    assert_eq!(cases.len(), 2);
    assert_eq!(
        entry(&cases[0][0]),
        json!({"header": {"name": "x-a", "present": false}})
    );
    // a and not a: no case.
    assert!(terms(&Cond::and(a.clone(), Cond::not(a.clone())))
        .unwrap_or_default()
        .is_empty());
    // A method list absorbs an `or` of methods.
    let get = Cond::Atom(json!({"method": ["GET"]}));
    let delete = Cond::Atom(json!({"method": ["DELETE"]}));
    assert_eq!(
        Cond::or(get, delete),
        Cond::Atom(json!({"method": ["GET", "DELETE"]}))
    );
}

#[test]
fn presence_is_implied_only_by_every_case() {
    let a = header("x-a");
    let exact = Cond::Atom(json!({"header": {"name": "x-a", "exact": "1"}}));
    assert!(implies_present(&a, "x-a"));
    assert!(implies_present(&exact, "x-a"));
    assert!(!implies_present(&Cond::not(exact.clone()), "x-a"));
    assert!(!implies_present(&Cond::or(a.clone(), header("x-b")), "x-a"));
    assert!(implies_present(&Cond::and(header("x-b"), a.clone()), "x-a"));
    // The absence of x-a never implies its presence.
    assert!(!implies_present(&Cond::not(a), "x-a"));
}

#[test]
fn too_many_cases_are_refused() {
    let many = (0..8).fold(Cond::Const(true), |acc, i| {
        Cond::and(
            acc,
            Cond::or(header(&format!("x-{i}")), header(&format!("y-{i}"))),
        )
    });
    assert!(terms(&many).is_err());
}

#[test]
fn numbers_print_as_lua_prints_them() {
    for (n, want) in [
        (5.0, "5"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (1e20, "1e+20"),
        (1e-5, "1e-05"),
        (-2.25, "-2.25"),
        (123456789012345.0, "1.2345678901234e+14"),
    ] {
        assert_eq!(number(n), want, "{n}");
    }
}
