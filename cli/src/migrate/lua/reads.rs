//! What a script reads (headers, paths, methods, route metadata), from which the compare
//! derives its requests.

use super::Reading;
use std::collections::BTreeSet;

#[derive(Debug, Default, Clone)]
pub struct Reads {
    /// Request headers read (with the value a condition compares them to).
    pub headers: BTreeSet<(String, Option<String>)>,
    /// Response headers read in `envoy_on_response`.
    pub response_headers: BTreeSet<(String, Option<String>)>,
    pub paths: BTreeSet<String>,
    pub methods: BTreeSet<String>,
    /// Route metadata keys read with `metadata():get(key)`.
    pub metadata: BTreeSet<String>,
    /// Route metadata keys tested (`if metadata():get(k) then`, `== "v"`).
    pub metadata_tested: BTreeSet<String>,
    /// Route metadata keys compared to a string (`metadata():get(k) == "v"`), with the string.
    pub metadata_values: BTreeSet<(String, String)>,
    /// Request headers (`:path` too) a `gsub` pattern substitutes in, with the pattern.
    pub substituted: BTreeSet<(String, String)>,
}

impl Reads {
    /// What `readings` read together: several scripts read what each reads.
    pub fn of(readings: &[&Reading]) -> Reads {
        let mut reads = Reads::default();
        for reading in readings {
            reads.extend(&reading.reads);
        }
        reads
    }

    /// Adds what `other` reads.
    pub(super) fn extend(&mut self, other: &Reads) {
        self.headers.extend(other.headers.iter().cloned());
        self.response_headers
            .extend(other.response_headers.iter().cloned());
        self.paths.extend(other.paths.iter().cloned());
        self.substituted.extend(other.substituted.iter().cloned());
        self.methods.extend(other.methods.iter().cloned());
        self.metadata.extend(other.metadata.iter().cloned());
        self.metadata_tested
            .extend(other.metadata_tested.iter().cloned());
        self.metadata_values
            .extend(other.metadata_values.iter().cloned());
    }
}
