//! The header maps a module has read in the VM entry in progress, kept so that what it reads
//! again (a pipeline's members, one after the other) costs no host call.
//!
//! A host call that returns a value costs Envoy a call into the module to allocate it, on top of
//! the call itself; in a pipeline each member used to read the request's map on its own. Within
//! one VM entry only this module changes the stream's headers, and only through [`crate::host::Map`],
//! which keeps the copy true: a removal drops the name's entries (Envoy removes every one); an
//! addition of a name the map does not hold appends it, lowercased, at the end (as Envoy's map
//! does); anything else (an addition to a name already there or to a pseudo-header, which
//! Envoy may merge or place elsewhere; a replacement; a change the host refused) forgets the
//! copy, and the next read asks the host again. Every stream callback starts with nothing kept
//! ([`forget`], called by the export macro).

use crate::wire::HeaderList;
use alloc::rc::Rc;
use core::cell::RefCell;

/// The request's map (slot 0) and the response's (slot 1), as `host::Map::slot` places them.
type Maps = [Option<Rc<HeaderList>>; 2];

#[cfg(all(target_arch = "wasm32", not(test)))]
static SEEN: crate::module::VmLocal<RefCell<Maps>> =
    crate::module::VmLocal(RefCell::new([None, None]));

#[cfg(not(all(target_arch = "wasm32", not(test))))]
std::thread_local! {
    static SEEN: RefCell<Maps> = const { RefCell::new([None, None]) };
}

fn with<R>(f: impl FnOnce(&mut Maps) -> R) -> Option<R> {
    let run = |cell: &RefCell<Maps>| cell.try_borrow_mut().ok().map(|mut maps| f(&mut maps));
    #[cfg(all(target_arch = "wasm32", not(test)))]
    return run(&SEEN);
    #[cfg(not(all(target_arch = "wasm32", not(test))))]
    return SEEN.with(run);
}

/// Forgets every map: a new VM entry, whose headers other filters may have changed.
pub fn forget() {
    with(|maps| *maps = [None, None]);
}

/// The map `slot` as last read or kept true since.
pub(crate) fn map(slot: usize) -> Option<Rc<HeaderList>> {
    with(|maps| maps.get(slot).cloned().flatten()).flatten()
}

/// Keeps `list` as map `slot`.
pub(crate) fn keep(slot: usize, list: &Rc<HeaderList>) {
    with(|maps| {
        if let Some(kept) = maps.get_mut(slot) {
            *kept = Some(Rc::clone(list));
        }
    });
}

/// What a filter asked the host to do to a map.
pub(crate) enum Change<'a> {
    Added(&'a [u8], &'a [u8]),
    Removed(&'a [u8]),
    Other,
}

/// Keeps map `slot` true after `change`, or forgets it.
pub(crate) fn changed(slot: usize, change: Change<'_>, done: bool) {
    with(|maps| {
        let Some(kept) = maps.get_mut(slot) else {
            return;
        };
        let Some(list) = kept.as_mut() else {
            return;
        };
        match (change, done) {
            (Change::Removed(name), true) => Rc::make_mut(list).remove(name),
            (Change::Added(name, value), true)
                if !name.starts_with(b":") && list.first(name).is_none() =>
            {
                Rc::make_mut(list).push_lowercase(name, value)
            }
            _ => *kept = None,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::serialize_map;
    use alloc::vec::Vec;

    fn entries(slot: usize) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        map(slot).map(|list| {
            list.iter()
                .map(|(name, value)| (name.to_vec(), value.to_vec()))
                .collect()
        })
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    /// What the host did, whether it accepted it, and the map kept after (`None`: forgotten).
    type Case<'a> = (&'a str, Change<'a>, bool, Option<&'a [(&'a str, &'a str)]>);

    #[test]
    fn a_kept_map_follows_the_changes_envoy_makes_or_is_forgotten() {
        let start = [(":path", "/"), ("a", "1"), ("a", "2"), ("b", "")];
        let cases: [Case<'_>; 7] = [
            (
                "a new name is appended, lowercased",
                Change::Added(b"X-New", b"v"),
                true,
                Some(&[
                    (":path", "/"),
                    ("a", "1"),
                    ("a", "2"),
                    ("b", ""),
                    ("x-new", "v"),
                ]),
            ),
            (
                "a name already there: Envoy may merge it",
                Change::Added(b"A", b"3"),
                true,
                None,
            ),
            ("a pseudo-header", Change::Added(b":x", b"1"), true, None),
            (
                "a removal drops every entry of the name",
                Change::Removed(b"A"),
                true,
                Some(&[(":path", "/"), ("b", "")]),
            ),
            (
                "a removal of a name not there changes nothing",
                Change::Removed(b"c"),
                true,
                Some(&start),
            ),
            ("a replacement", Change::Other, true, None),
            (
                "a change the host refused",
                Change::Added(b"c", b"1"),
                false,
                None,
            ),
        ];
        for (what, change, done, want) in cases {
            let list = HeaderList::from_wire(serialize_map(&start.map(|(n, v)| (n, v.as_bytes()))));
            keep(0, &Rc::new(list.unwrap_or_default()));
            changed(0, change, done);
            assert_eq!(entries(0), want.map(pairs), "{what}");
            assert_eq!(entries(1), None, "{what}: the other map is untouched");
        }
        forget();
        assert_eq!(entries(0), None);
    }
}
