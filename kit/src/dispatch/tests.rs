use super::{fnv1a, pick, Root};
use alloc::rc::Rc;
use alloc::vec::Vec;

fn root(context_id: u32, name: &str, config: char) -> Root<char> {
    Root {
        context_id,
        identity: (name.as_bytes().to_vec(), b"r".to_vec()),
        filter: Rc::new(config),
    }
}

#[test]
fn fnv1a_of_known_inputs() {
    assert_eq!(fnv1a(b""), 0x811c_9dc5);
    assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
}

/// Which configuration serves a stream: (roots in configure order, the stream's recorded
/// root, its plugin's name, the configuration that serves it).
#[test]
fn a_stream_is_served_by_the_root_it_was_created_under() {
    type Case<'a> = (&'a str, Vec<Root<char>>, Option<u32>, &'a str, Option<char>);
    let cases: Vec<Case> = vec![
        (
            "one plugin serves every stream",
            vec![root(2, "a", 'A')],
            None,
            "a",
            Some('A'),
        ),
        (
            "a rejected update (same name, new root, never a parent) serves nothing",
            vec![root(2, "a", 'O'), root(5, "a", 'N')],
            Some(2),
            "a",
            Some('O'),
        ),
        (
            "an accepted update serves the new listener's streams",
            vec![root(2, "a", 'O'), root(5, "a", 'N')],
            Some(5),
            "a",
            Some('N'),
        ),
        (
            "a stream created before the update stays with the old configuration",
            vec![root(2, "a", 'O'), root(5, "a", 'N')],
            None,
            "a",
            Some('O'),
        ),
        (
            "two plugins of different names: by name",
            vec![root(2, "a", 'A'), root(3, "b", 'B')],
            None,
            "b",
            Some('B'),
        ),
        (
            "a recorded root the VM forgot: by name",
            vec![root(7, "a", 'A'), root(8, "b", 'B')],
            Some(3),
            "b",
            Some('B'),
        ),
        (
            "no plugin of the stream's name",
            vec![root(2, "a", 'A'), root(3, "b", 'B')],
            None,
            "c",
            None,
        ),
        ("no plugin at all", vec![], None, "a", None),
    ];
    for (name, roots, parent, plugin, want) in cases {
        let identity = || (plugin.as_bytes().to_vec(), b"r".to_vec());
        let got = pick(&roots, parent, identity).map(|r| *r.filter);
        assert_eq!(got, want, "{name}");
    }
}

/// A replacement is written over its stream's first chunk and later chunks are emptied, never a
/// pause (Envoy buffers nothing); at most `MAX_BODIES_WAITING` streams wait at once: past that
/// the oldest is dropped and its stream passes through.
#[test]
fn replacement_bodies_go_out_with_the_first_chunk_within_a_bound() {
    use super::{Plugins, MAX_BODIES_WAITING};
    use crate::filter::{Action, Filter};
    struct Quiet;
    impl Filter for Quiet {
        const NAME: &'static str = "quiet";
        type Stream = ();
        fn configure(_: Option<&[u8]>) -> Result<Self, alloc::string::String> {
            Ok(Self)
        }
    }
    let plugins: Plugins<Quiet, false> = Plugins::new();
    for id in 0..=MAX_BODIES_WAITING as u32 {
        if let Ok(mut bodies) = plugins.bodies.try_borrow_mut() {
            bodies.insert(id, Some(b"new".to_vec()));
        }
    }
    let pending = |id| plugins.bodies.borrow().get(id).map(Option::is_some);
    // Stream 0 was pushed out: its body passes through.
    assert_eq!(pending(0), None);
    assert_eq!(plugins.response_body(0, 10, 0), Action::Continue as u32);
    // Stream 1: the first chunk carries the new body (off a host the write is refused and
    // logged; the stream goes on either way), the entry stays to empty the later chunks, and
    // goes with the last one.
    assert_eq!(plugins.response_body(1, 10, 0), Action::Continue as u32);
    assert_eq!(pending(1), Some(false));
    assert_eq!(plugins.response_body(1, 20, 1), Action::Continue as u32);
    assert_eq!(pending(1), None);
    // Stream 2's body ends with trailers: its entry goes there.
    assert_eq!(plugins.response_body(2, 10, 0), Action::Continue as u32);
    assert_eq!(plugins.response_trailers(2), Action::Continue as u32);
    assert_eq!(pending(2), None);
    // Stream 3's trailers come before any chunk: the body was never written.
    assert_eq!(pending(3), Some(true));
    assert_eq!(plugins.response_trailers(3), Action::Continue as u32);
    assert_eq!(pending(3), None);
}

/// A filter may replace a body only where one follows the headers; the replacement is taken
/// once, and the phase ends with it.
#[test]
fn a_replacement_is_kept_only_where_a_body_follows() {
    use crate::body;
    body::begin(false);
    assert!(!body::follows());
    body::replace(b"x".to_vec());
    assert_eq!(body::take(), None);
    body::begin(true);
    assert!(body::follows());
    body::replace(b"first".to_vec());
    body::replace(b"last".to_vec());
    assert_eq!(body::take(), Some(b"last".to_vec()));
    assert!(!body::follows());
    assert_eq!(body::take(), None);
}
